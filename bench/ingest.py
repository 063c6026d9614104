"""Ingest benchmark: photos in, vectors queryable; the `bench` profile (ViT-B-32, random weights).

  ./fidelis bench ingest [--images 320] [--runs 3]

All in one run, on a throw-away database:
- baseline: torch fp32, one image at a time (decode, preprocess, encode, store the vector);
- Fidelis: the indexing job's own code (each tower in the format measured best on this
  machine, retrieval/formats.py; batches of 32, decode in threads);
- encode alone (preprocessed batches of 32, and one image at a time), the embeddings' cosine
  to the fp32 reference;
- freshness: a real worker process runs; time from committing a product image to its vector
  being queryable; the worker's peak RSS. The worker logs to bench/results/ingest-worker.log,
  whose tail is printed if it fails.
Prints a table and writes bench/results/ingest.json, with the CPU and the formats chosen.
"""

from __future__ import annotations

import argparse
import time

from common import (
    RESULTS,
    log_tail,
    machine_record,
    machine_rows,
    median,
    percentile,
    photos,
    print_table,
    run_benchmark,
    start_worker,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=320)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--freshness-samples", type=int, default=20)
    args = parser.parse_args()

    run_benchmark("ingest", run, args)


def run(args) -> dict:
    import numpy as np
    import torch
    from tqdm import tqdm

    from catalog.models import Merchant, ProductImage
    from catalog.services import merchant_create, product_create_with_image
    from retrieval.encoders import ClipEncoder, EncoderSpec, get_encoder
    from retrieval.indexing import embed_pending_images
    from retrieval.models import ImageEmbedding, PendingImage, ProductEmbedding

    fast = get_encoder()
    baseline = ClipEncoder(EncoderSpec(fast.spec.architecture, None, "fp32"))
    machine = machine_record(fast)
    print(f"encoder {fast.identity}, {torch.get_num_threads()} threads, formats {fast.formats}")

    merchant = merchant_create(name="Bench", slug="bench")
    files = photos("train", args.images)
    for path in tqdm(files, desc="Importing", unit="photo"):
        product_create_with_image(
            merchant=merchant, data=path.read_bytes(), title=path.stem, price="1.00"
        )
    images = list(ProductImage.objects.order_by("pk"))

    # Baseline: what a naive indexer does, image by image, in fp32.
    baseline_rates, reference = [], {}
    for _ in range(args.runs):
        ImageEmbedding.objects.all().delete()
        started = time.perf_counter()
        for image in tqdm(images, desc="Baseline fp32, one at a time", unit="image"):
            with image.file.open("rb") as fh:
                pixels = baseline.load_image(fh.read())
            vector = baseline.encode_images(pixels[None])[0]
            ImageEmbedding.objects.create(image=image, encoder="baseline", vector=vector)
            reference[image.pk] = vector
        baseline_rates.append(len(images) / (time.perf_counter() - started))
    ImageEmbedding.objects.all().delete()

    # Fidelis: the same code path the worker runs.
    ingest_rates = []
    for _ in range(args.runs):
        ImageEmbedding.objects.all().delete()
        ProductEmbedding.objects.all().delete()
        # No vector: in the indexing backlog again.
        PendingImage.objects.bulk_create(PendingImage(image=image) for image in images)
        started = time.perf_counter()
        with tqdm(total=len(images), desc="Fidelis indexing job", unit="image") as bar:
            count = embed_pending_images(encoder=fast, on_batch=bar.update)
        ingest_rates.append(count / (time.perf_counter() - started))
        assert count == len(images)

    stored = dict(
        ImageEmbedding.objects.filter(encoder=fast.identity).values_list("image", "vector")
    )
    cosines = [
        float(np.dot(reference[pk], np.asarray(v, dtype=np.float32))) for pk, v in stored.items()
    ]

    # Encode alone, on preprocessed batches of 32.
    pixels = torch.stack([fast.load_image(p.read_bytes()) for p in files[:128]])
    fast.encode_images(pixels[:32])  # warm-up
    encode_rates = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for start in range(0, len(pixels), 32):
            fast.encode_images(pixels[start : start + 32])
        encode_rates.append(len(pixels) / (time.perf_counter() - started))
    one_image_ms = []
    for _ in range(args.runs):
        for row in pixels[:32]:
            started = time.perf_counter()
            fast.encode_images(row[None])
            one_image_ms.append((time.perf_counter() - started) * 1e3)

    freshness, worker_rss_mb = measure_freshness(
        merchant=Merchant.objects.get(slug="bench"),
        files=photos("validation", args.freshness_samples + 1),
    )

    results = {
        "profile": "bench",
        "encoder": fast.identity,
        **machine,
        "images": len(images),
        "runs": args.runs,
        "ingest_images_per_s": round(median(ingest_rates), 1),
        "baseline_images_per_s": round(median(baseline_rates), 1),
        "speedup_vs_baseline": round(median(ingest_rates) / median(baseline_rates), 2),
        "encode_images_per_s": round(median(encode_rates), 1),
        "encode_batch32_ms_per_image": round(1e3 / median(encode_rates), 2),
        "encode_batch1_p50_ms": round(median(one_image_ms), 2),
        "min_cosine_vs_fp32": round(min(cosines), 5),
        "freshness_p50_s": round(median(freshness), 3),
        "freshness_p95_s": round(percentile(freshness, 95), 3),
        "worker_peak_rss_mb": worker_rss_mb,
    }
    print_table(
        f"Ingest, {len(images)} photos, median of {args.runs} runs (bench profile, 2 cores)",
        [
            *machine_rows(machine),
            ("baseline fp32 one-at-a-time, images/s", f"{results['baseline_images_per_s']}", ""),
            ("ingest end-to-end, images/s", f"{results['ingest_images_per_s']}", ""),
            ("ingest speed-up vs baseline", f"{results['speedup_vs_baseline']}x", ">= 3x"),
            ("encode alone (batch 32), images/s", f"{results['encode_images_per_s']}", ""),
            ("  ms per image, batch 32", f"{results['encode_batch32_ms_per_image']}", ""),
            ("encode one image (batch 1), p50 ms", f"{results['encode_batch1_p50_ms']}", ""),
            ("min cosine vs fp32 reference", f"{results['min_cosine_vs_fp32']}", ">= 0.999"),
            ("freshness p50, s", f"{results['freshness_p50_s']}", ""),
            ("freshness p95, s", f"{results['freshness_p95_s']}", "< 2"),
            ("worker peak RSS, MB", f"{results['worker_peak_rss_mb']}", "report"),
        ],
    )
    return results


def measure_freshness(*, merchant, files) -> tuple[list[float], int]:
    """Save product images one by one with a real worker process running; time until queryable."""
    from catalog.services import product_create_with_image
    from retrieval.models import ImageEmbedding

    log_path = RESULTS / "ingest-worker.log"
    worker = start_worker(log_path)
    try:
        samples = []
        for i, path in enumerate(files):
            started = time.perf_counter()
            product = product_create_with_image(
                merchant=merchant, data=path.read_bytes(), title=f"fresh {i}", price="1.00"
            )
            image = product.images.get()
            deadline = started + (120 if i == 0 else 10)  # the first job loads the model
            while not ImageEmbedding.objects.filter(image=image).exists():
                if time.perf_counter() > deadline or worker.poll() is not None:
                    raise RuntimeError(
                        f"the worker did not index image {image.pk} in time "
                        f"(worker exit code {worker.poll()})\n{log_tail(log_path)}"
                    )
                time.sleep(0.005)
            if i > 0:  # the first sample includes the worker's model load
                samples.append(time.perf_counter() - started)
        with open(f"/proc/{worker.pid}/status") as fh:
            peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
        return samples, peak_kb // 1024
    finally:
        worker.terminate()
        worker.wait(timeout=30)


if __name__ == "__main__":
    main()
