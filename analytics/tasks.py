from procrastinate.contrib.django import app

from analytics.popular import popular_queries_refresh
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


# New searches make queries popular: rebuilt every ten minutes, and deferred after every
# visibility change by retrieval.refresh_lexicon (so a hidden product's query goes at once).
# On the maintenance queue: up to 2,000 keyword statements must not hold up indexing.
@app.periodic(cron="*/10 * * * *")
@app.task(
    name="fidelis.refresh_popular_queries",
    queue="maintenance",
    queueing_lock="refresh-popular-queries",
)
def refresh_popular_queries(timestamp: int | None = None) -> int:
    return popular_queries_refresh()
