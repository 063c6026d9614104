"""manage.py search_eval --merchant SLUG [--compare NAME=VALUE ...]: how good is search?

Runs every query of the merchant's judgement list (search_judgements import) through shopper
search in the merchant's catalog and prints nDCG@10, MRR, P@10 and recall@100 per query and
overall; the run is saved and shown on the merchant's search dashboard. --compare runs again
with a change (vector_cutoff=0.25, rrf_k=20, synonyms=off) and prints the differences.
"""

from django.core.management.base import BaseCommand, CommandError

from analytics.evaluation import configured, evaluation_run
from catalog.models import Merchant

METRICS = ("ndcg@10", "mrr", "p@10", "recall@100")


class Command(BaseCommand):
    help = "Score search on the merchant's judgements: nDCG@10, MRR, P@10, recall@100."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True)
        parser.add_argument("--compare", action="append", default=[], metavar="NAME=VALUE")

    def handle(self, *args, merchant: str, compare: list[str], **options):
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None:
            raise CommandError(f"No merchant {merchant!r}: pass the slug of an existing shop.")
        if not shop.judgements.exists():
            raise CommandError(
                f"{shop.slug} has no judgements: add some with "
                "`./fidelis manage search_judgements import FILE --merchant SLUG`."
            )
        try:
            changed = configured(compare)
        except ValueError as err:
            raise CommandError(str(err)) from err
        baseline = evaluation_run(merchant=shop, label="baseline")
        self._table(baseline)
        if not compare:
            return
        with changed:
            variant = evaluation_run(merchant=shop, label=" ".join(compare))
        self.stdout.write(f"\nwith {' '.join(compare)}:")
        self._table(variant)
        self.stdout.write("\ndifference (with change - baseline):")
        for metric in METRICS:
            delta = variant.overall[metric] - baseline.overall[metric]
            self.stdout.write(f"  {metric:<11} {delta:+.4f}")

    def _table(self, evaluation) -> None:
        header = f"{'query':<30}" + "".join(f"{m:>12}" for m in METRICS)
        self.stdout.write(header)
        for query, values in evaluation.per_query.items():
            self.stdout.write(f"{query[:30]:<30}" + "".join(f"{values[m]:>12.4f}" for m in METRICS))
        overall = evaluation.overall
        self.stdout.write(f"{'overall':<30}" + "".join(f"{overall[m]:>12.4f}" for m in METRICS))
