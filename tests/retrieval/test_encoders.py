"""Encoders: one loader for random profiles and real weights; models never mix."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import open_clip
import pytest
import torch
from django.conf import settings as django_settings
from django.core.management import call_command
from PIL import Image

from retrieval import formats, onnx_export
from retrieval.encoders import ClipEncoder, EncoderSpec, spec_from_settings
from retrieval.formats import MIN_COSINE, Measurement, choose, decision_path
from retrieval.models import ImageEmbedding
from retrieval.onnx_export import OnnxTower
from retrieval.pixels import ClipPixels
from retrieval.selectors import image_neighbours
from tests.conftest import dataset_photos

TINY = EncoderSpec("fidelis-tiny", None, "fp32")


@pytest.fixture(scope="module")
def tiny():
    return ClipEncoder(TINY)


@pytest.fixture(scope="module")
def photos_pixels(tiny):
    return torch.stack([tiny.load_image(p.read_bytes()) for p in dataset_photos(4)])


def test_weights_from_a_local_file_load_through_the_real_loader(
    tiny, photos_pixels, tmp_path, settings
):
    checkpoint = tmp_path / "tiny-weights.pt"
    torch.save(tiny.model.state_dict(), checkpoint)
    settings.FIDELIS_ENCODER = "fidelis-tiny"
    settings.FIDELIS_ENCODER_WEIGHTS = str(checkpoint)
    settings.FIDELIS_ENCODER_PRECISION = "fp32"

    spec = spec_from_settings()
    loaded = ClipEncoder(spec)

    assert not spec.random_weights
    assert spec.identity.startswith("fidelis-tiny@sha256:")
    texts = ["red summer dress", "black leather shoes"]
    np.testing.assert_array_equal(loaded.encode_texts(texts), tiny.encode_texts(texts))
    np.testing.assert_array_equal(
        loaded.encode_images(photos_pixels), tiny.encode_images(photos_pixels)
    )


def test_text_cut_after_the_end_token_matches_the_full_77_token_tower(tiny):
    texts = ["hat", "a long description of a navy blue cotton shirt with buttons"]
    with torch.inference_mode():
        full = torch.nn.functional.normalize(tiny.model.encode_text(tiny.tokenizer(texts)), dim=-1)

    np.testing.assert_allclose(tiny.encode_texts(texts), full.numpy(), atol=1e-5)


def test_a_repeated_query_reuses_its_vector_and_spellings_the_tokenizer_folds_share_it(
    tiny, monkeypatch
):
    tiny.query_cache_clear()
    calls = []
    encode = tiny.text_tower
    monkeypatch.setattr(tiny, "text_tower", lambda tokens: calls.append(1) or encode(tokens))

    first = tiny.encode_query("Navy  Shirt")
    again = tiny.encode_query("navy shirt")
    other = tiny.encode_query("navy shirts")

    assert len(calls) == 2  # "navy shirt" once, "navy shirts" once
    np.testing.assert_array_equal(first, tiny.encode_texts(["navy shirt"])[0])
    assert again is first
    assert not np.array_equal(other, first)
    with pytest.raises(ValueError):  # shared by every search that asks: nobody may change it
        first[0] = 0.0


def test_the_query_vector_cache_can_be_turned_off(settings):
    settings.FIDELIS_QUERY_VECTOR_CACHE = 0
    encoder = ClipEncoder(TINY)

    first, again = encoder.encode_query("wool hat"), encoder.encode_query("wool hat")

    assert first is not again
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("size", [(400, 711), (711, 400), (300, 300), (225, 1001), (97, 61)])
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_fast_preprocessing_gives_open_clips_pixels_bit_for_bit(size, mode):
    preprocess = open_clip.image_transform(224, is_train=False)
    fast = ClipPixels.matching(preprocess)
    with Image.open(dataset_photos(1)[0]) as photo:
        image = photo.convert("RGB").resize(size).convert(mode).convert("RGB")

    assert fast is not None
    assert torch.equal(fast(image), preprocess(image))


def test_other_preprocessing_is_left_to_torchvision(tiny):
    squash = open_clip.image_transform(224, is_train=False, resize_mode="squash")

    assert ClipPixels.matching(squash) is None
    assert ClipPixels.matching(tiny.preprocess) is not None  # the profiles take the fast path


def test_vectors_are_unit_length_and_differ_between_photos(tiny, photos_pixels):
    vectors = tiny.encode_images(photos_pixels)

    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len({v.tobytes() for v in vectors}) == 4


def test_named_model_without_weights_is_refused_with_the_fix(settings):
    settings.FIDELIS_ENCODER = "ViT-B-32"
    settings.FIDELIS_ENCODER_WEIGHTS = ""

    with pytest.raises(ValueError, match="FIDELIS_ENCODER_WEIGHTS"):
        spec_from_settings()


@pytest.mark.django_db(transaction=True)
def test_a_second_encoder_never_mixes_with_the_first(tiny, photo_folder, tmp_path, settings):
    call_command("import_catalog", str(photo_folder(6)), stdout=None)
    call_command("reindex", stdout=None)
    # Another model: the tiny architecture with other weights, loaded from a file.
    other_weights = {k: v + 0.01 for k, v in tiny.model.state_dict().items()}
    torch.save(other_weights, tmp_path / "other.pt")
    settings.FIDELIS_ENCODER, settings.FIDELIS_ENCODER_PRECISION = "fidelis-tiny", "fp32"
    settings.FIDELIS_ENCODER_WEIGHTS = str(tmp_path / "other.pt")
    other = ClipEncoder(spec_from_settings())

    from retrieval.indexing import embed_pending_images

    assert embed_pending_images(encoder=other) == 6

    assert ImageEmbedding.objects.filter(encoder=TINY.identity).count() == 6
    assert ImageEmbedding.objects.filter(encoder=other.identity).count() == 6
    query = other.encode_texts(["shirt"])[0]
    found = list(image_neighbours(query_vector=query, encoder=other, limit=20))
    assert len(found) == 6 and {e.encoder for e in found} == {other.identity}


def held_out_cosines(encoder, reference, pixels) -> tuple[float, float]:
    """Min cosine to `reference` on photos and queries outside the calibration set."""
    texts = ["blue jeans", "a long grey wool winter coat with a hood", "hat", "SKU-991"]
    image = (encoder.encode_images(pixels) * reference.encode_images(pixels)).sum(1).min()
    text = (encoder.encode_texts(texts) * reference.encode_texts(texts)).sum(1).min()
    return float(image), float(text)


def test_auto_keeps_the_fastest_faithful_format_of_each_tower(
    tiny, photos_pixels, settings, tmp_path
):
    settings.VAR_DIR = tmp_path

    auto = ClipEncoder(EncoderSpec("fidelis-tiny", None, "auto"))

    decision = auto.format_decision
    assert decision["cpu"]["model"] and decision["cpu_signature"]
    for tower in ("image", "text"):
        measured = decision[f"{tower}_candidates"]
        assert {"fp32", "onnx-fp32", "int8"} <= set(measured)
        faithful = {f: m["ms"] for f, m in measured.items() if m["min_cosine"] >= MIN_COSINE}
        assert auto.formats[tower] == min(faithful, key=faithful.get)
    # The guarantee of the chosen path holds beyond the calibration set too.
    assert min(held_out_cosines(auto, tiny, photos_pixels)) >= MIN_COSINE
    assert list((tmp_path / "onnx").glob("formats-*.json")) == [
        decision_path(auto.identity, tmp_path / "onnx")
    ]


def test_the_decision_is_reused_on_this_cpu_and_measured_again_on_another(
    settings, tmp_path, monkeypatch
):
    settings.VAR_DIR = tmp_path
    first = ClipEncoder(EncoderSpec("fidelis-tiny", None, "auto"))
    measured = []
    real_measure = formats._measure_tower
    monkeypatch.setattr(
        formats, "_measure_tower", lambda *a, **kw: measured.append(a[1]) or real_measure(*a, **kw)
    )

    again = ClipEncoder(EncoderSpec("fidelis-tiny", None, "auto"))
    assert measured == [] and again.formats == first.formats

    monkeypatch.setattr(formats, "cpu_signature", lambda: "another-cpu")
    ClipEncoder(EncoderSpec("fidelis-tiny", None, "auto"))
    assert measured == ["image", "text"]
    assert len(list((tmp_path / "onnx").glob("formats-*.json"))) == 2


def test_a_cached_decision_runs_each_tower_in_its_own_format(
    tiny, photos_pixels, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    path = decision_path(tiny.identity, tmp_path / "onnx")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"image": "fp32", "text": "onnx-fp32"}))

    mixed = ClipEncoder(EncoderSpec("fidelis-tiny", None, "auto"))

    assert mixed.formats == {"image": "fp32", "text": "onnx-fp32"}
    assert isinstance(mixed.text_tower, OnnxTower) and not isinstance(mixed.image_tower, OnnxTower)
    assert min(held_out_cosines(mixed, tiny, photos_pixels)) >= 0.99999


def test_no_format_below_the_fidelity_floor_is_chosen_however_fast():
    fast_but_off = Measurement(ms=1.0, min_cosine=0.9989)
    assert (
        choose(
            {
                "int8": fast_but_off,
                "onnx-fp32": Measurement(3.0, 1.0),
                "fp32": Measurement(9.0, 1.0),
            }
        )
        == "onnx-fp32"
    )
    assert choose({"int8": fast_but_off, "fp32": Measurement(9.0, 1.0)}) == "fp32"
    assert choose({"int8": Measurement(1.0, 0.9995), "fp32": Measurement(9.0, 1.0)}) == "int8"


def test_bf16_is_measured_only_where_the_cpu_computes_it_natively(tiny, monkeypatch):
    monkeypatch.setattr(formats, "has_native_bf16", lambda: False)
    assert "bf16" not in formats.candidates(tiny.model, "image")
    monkeypatch.setattr(formats, "has_native_bf16", lambda: True)
    assert "bf16" in formats.candidates(tiny.model, "text")


@pytest.mark.parametrize("vnni, weights", [(True, "qint8"), (False, "quint8")])
def test_forced_int8_runs_both_towers_on_onnx_runtime_in_the_cpus_mode(
    vnni, weights, settings, tmp_path, monkeypatch
):
    """u8s8 saturates without int8 dot products (cosine 0.976 on an AVX2 EPYC): u8u8 there."""
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(onnx_export, "has_int8_dot_products", lambda: vnni)

    int8 = ClipEncoder(EncoderSpec("fidelis-tiny", None, "int8"))

    assert int8.formats == {"image": "int8", "text": "int8"} and int8.model is None
    assert isinstance(int8.image_tower, OnnxTower) and isinstance(int8.text_tower, OnnxTower)
    files = sorted(p.name for p in (tmp_path / "onnx").glob("*-int8-*.onnx"))
    assert len(files) == 2 and all(f"-int8-{weights}-" in name for name in files)
    assert int8.encode_texts(["blue jeans"]).shape == (1, int8.dim)


def test_an_unknown_precision_is_refused_with_the_fix(settings):
    settings.FIDELIS_ENCODER, settings.FIDELIS_ENCODER_PRECISION = "tiny", "int4"

    with pytest.raises(ValueError, match="leave it unset"):
        ClipEncoder(spec_from_settings())


def test_the_exported_text_tower_takes_any_length_and_matches_open_clip(tiny):
    from retrieval.onnx_export import _TextTower

    tower = _TextTower(tiny.model).eval()
    texts = ["hat", "a navy linen shirt with long sleeves", "x " * 40]
    with torch.inference_mode():
        for text in texts:
            tokens = tiny.tokenizer([text])
            length = int(tokens.argmax(dim=-1).max()) + 1
            expected = tiny.model.encode_text(tokens)
            assert torch.allclose(tower(tokens[:, :length]), expected, atol=1e-5)


def test_the_formats_command_measures_once_and_shows_the_decision(settings, tmp_path):
    settings.VAR_DIR, settings.FIDELIS_ENCODER_PRECISION = tmp_path, "auto"
    out = io.StringIO()

    call_command("encoder_formats", stdout=out)

    shown = out.getvalue()
    decision = json.loads(decision_path(TINY.identity, tmp_path / "onnx").read_text())
    assert f"image tower: {decision['image']}" in shown
    assert f"text tower: {decision['text']}" in shown and "min cosine" in shown


def test_the_encoder_system_checks_are_registered(settings):
    from django.core import checks

    settings.FIDELIS_ENCODER = "tiny"
    assert "fidelis.W001" in {message.id for message in checks.run_checks()}
    settings.FIDELIS_ENCODER, settings.FIDELIS_ENCODER_WEIGHTS = "ViT-B-32", ""
    assert "fidelis.E001" in {message.id for message in checks.run_checks()}


def _spin_setting_in_a_process_started_as(*argv: str) -> str:
    code = (
        f"import sys; sys.argv = {list(argv)!r}; import django; django.setup(); "
        "from django.conf import settings; print(settings.FIDELIS_ONNX_SPIN)"
    )
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("FIDELIS_ONNX_SPIN", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_onnx_threads_wait_idle_in_queue_workers_and_spin_elsewhere(tmp_path, settings):
    """A queue worker shares its cores with imports: its ONNX Runtime threads must not spin."""
    assert _spin_setting_in_a_process_started_as("manage.py", "procrastinate", "worker") == "False"
    assert _spin_setting_in_a_process_started_as("manage.py", "serve") == "True"

    path = tmp_path / "flatten.onnx"
    torch.onnx.export(
        torch.nn.Flatten(), torch.zeros(1, 3, 2, 2), path, input_names=["pixels"], dynamo=False
    )
    for spin, expected in ((False, "0"), (True, "1")):
        settings.FIDELIS_ONNX_SPIN = spin
        options = OnnxTower(path, tower="image").session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == expected
