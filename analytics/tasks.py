from procrastinate.contrib.django import app

from analytics.retention import analytics_expired_delete


# Every worker runs the periodic deferrer; one job per night is queued, whoever defers it.
@app.periodic(cron="17 3 * * *")
@app.task(
    name="fidelis.delete_expired_analytics",
    queue="maintenance",
    queueing_lock="delete-expired-analytics",
)
def delete_expired_analytics(timestamp: int) -> int:
    return analytics_expired_delete()
