"""manage.py encoder_formats: measure (once) and show the number format of each encoder tower.

Run it once per machine when deploying, before the app serves: otherwise the first process to
load the model measures, about a minute for ViT-B-32 on 2 cores, and a web request that does
so would outlive gunicorn's worker timeout.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from retrieval.encoders import ClipEncoder, spec_from_settings
from retrieval.formats import decision_path


class Command(BaseCommand):
    help = "Measure (once per model and CPU) and show the number format of each encoder tower."

    def add_arguments(self, parser):
        parser.add_argument(
            "--remeasure",
            action="store_true",
            help="drop this machine's decision and measure again",
        )

    def handle(self, *args, remeasure: bool, **options):
        spec = spec_from_settings()
        path = decision_path(spec.identity, settings.VAR_DIR / "onnx")
        if remeasure:
            path.unlink(missing_ok=True)
        encoder = ClipEncoder(spec)
        decision = encoder.format_decision
        if decision is None:
            self.stdout.write(
                f"{spec.identity}: FIDELIS_ENCODER_PRECISION={spec.precision} forces the format "
                f"(image tower {encoder.formats['image']}, text tower {encoder.formats['text']})."
            )
            return
        cpu = decision["cpu"]
        self.stdout.write(f"{spec.identity} on {cpu['model']} ({' '.join(cpu['flags'])})")
        for tower in ("image", "text"):
            self.stdout.write(f"{tower} tower: {decision[tower]}")
            for fmt, measured in decision[f"{tower}_candidates"].items():
                self.stdout.write(
                    f"  {fmt:<10} {measured['ms']:>9.2f} ms  min cosine {measured['min_cosine']}"
                )
        self.stdout.write(f"decision: {path}")
