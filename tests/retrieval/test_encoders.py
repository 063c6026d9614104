"""Encoders: one loader for random profiles and real weights; models never mix."""

import numpy as np
import open_clip
import pytest
import torch
from django.core.management import call_command
from PIL import Image

from retrieval.encoders import ClipEncoder, EncoderSpec, spec_from_settings
from retrieval.models import ImageEmbedding
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


def test_int8_image_tower_stays_faithful_to_fp32(tiny, photos_pixels, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    int8 = ClipEncoder(EncoderSpec("fidelis-tiny", None, "int8"))

    cosines = (int8.encode_images(photos_pixels) * tiny.encode_images(photos_pixels)).sum(1)

    assert cosines.min() >= 0.99
    assert list((tmp_path / "onnx").glob("*.onnx"))  # exported once, reused next time
    texts = tiny.encode_texts(["blue jeans"]), int8.encode_texts(["blue jeans"])
    assert float((texts[0] * texts[1]).sum()) >= 0.99


def test_the_exported_text_tower_takes_any_length_and_matches_open_clip(tiny):
    from retrieval.onnx_int8 import _TextTower

    tower = _TextTower(tiny.model).eval()
    texts = ["hat", "a navy linen shirt with long sleeves", "x " * 40]
    with torch.inference_mode():
        for text in texts:
            tokens = tiny.tokenizer([text])
            length = int(tokens.argmax(dim=-1).max()) + 1
            expected = tiny.model.encode_text(tokens)
            assert torch.allclose(tower(tokens[:, :length]), expected, atol=1e-5)


def test_int8_text_tower_runs_on_onnx_runtime_close_to_fp32(tiny, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    int8 = ClipEncoder(EncoderSpec("fidelis-tiny", None, "int8"))
    texts = ["hat", "red summer dress", "a soft burgundy knitted winter dress with two pockets"]

    cosines = (int8.encode_texts(texts) * tiny.encode_texts(texts)).sum(1)

    assert int8.onnx_text_tower is not None and cosines.min() >= 0.99
    assert len(list((tmp_path / "onnx").glob("text-tower-*.onnx"))) == 1
