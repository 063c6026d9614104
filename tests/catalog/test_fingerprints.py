"""The signals the guard compares: borders trimmed, rotations hashed, covered copies aligned."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from catalog import fingerprints
from catalog.fingerprints.matching import perspective_gain
from catalog.guard import thresholds, verification
from catalog.guard.real_source import hamming
from tests.catalog.guard_helpers import crop, encoded, on_page, padded_square, with_badge
from tests.conftest import DATASET, dataset_photos


def _decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.mark.parametrize("colour", ["white", "black", (128, 128, 128), (190, 20, 30)])
def test_a_padded_or_bordered_copy_is_trimmed_back_to_the_picture(colour):
    # A photo with no plain margin of its own (for one with a bare wall, see test_guard.py).
    photo = Image.open(dataset_photos(3)[2]).convert("RGB")
    copies = [
        _decoded(encoded(padded_square(photo, colour))),
        _decoded(encoded(ImageOps.expand(photo, border=photo.width // 6, fill=colour))),
    ]

    registered = fingerprints.fingerprint(photo)
    original = registered.pdq_trimmed or registered.pdq  # None: nothing of the photo trimmed
    for copy in copies:
        # The pad is gone (and a flat margin of the photo's own, in its colour, may go with it).
        trimmed = fingerprints.trimmed(copy)
        assert trimmed.width <= photo.width * 1.03 and trimmed.height <= photo.height * 1.03
        assert trimmed.width * trimmed.height >= 0.8 * photo.width * photo.height
        trimmed_pdq = fingerprints.query_print(copy).pdq_trimmed_dihedral[0]
        assert hamming(trimmed_pdq, original) <= thresholds.PDQ_MATCH_BITS


def test_a_recoloured_copy_meets_the_photos_hash_though_its_plain_margin_trims_otherwise():
    """A photo's own plain margin (a bare wall) is trimmed too, and a brighter copy, whose wall
    is clipped to white, further: the hashes of the images as they are still meet."""
    for path in dataset_photos(9):
        photo = Image.open(path).convert("RGB")
        registered = fingerprints.fingerprint(photo)
        for copy in (ImageOps.grayscale(photo), ImageEnhance.Brightness(photo).enhance(1.2)):
            query = fingerprints.query_print(_decoded(encoded(copy)))
            nearest = min(
                hamming(query.pdq_dihedral[0], registered.pdq),
                hamming(query.pdq_trimmed_dihedral[0], registered.pdq_trimmed or registered.pdq),
            )
            assert nearest <= 16


def test_a_quarter_turn_hashes_close_to_one_of_the_originals_eight_orientations():
    photo = Image.open(dataset_photos(2)[1]).convert("RGB")
    upright = fingerprints.fingerprint(photo).pdq
    turned = fingerprints.query_print(_decoded(encoded(photo.rotate(90, expand=True))))

    nearest = min(hamming(h, upright) for h in turned.pdq_dihedral)

    assert nearest <= thresholds.PDQ_MATCH_BITS
    assert hamming(turned.pdq_dihedral[0], upright) > 64  # the turned image alone: no match


def _match(query_image, reference_image):
    query = fingerprints.query_print(query_image).upright
    reference = fingerprints.fingerprint(reference_image).upright
    return fingerprints.geometric_match(query, reference)


def test_a_covered_copy_still_agrees_cell_by_cell():
    photo = Image.open(dataset_photos(3)[2]).convert("RGB")

    covered = _match(_decoded(encoded(with_badge(photo, 0.15))), photo)
    cropped = _match(_decoded(encoded(crop(photo, 0.2, 0.2, 0.2, 0.2))), photo)

    assert covered.agreement >= thresholds.MIN_AGREEMENT and covered.containment >= 0.99
    assert cropped.agreement >= thresholds.MIN_AGREEMENT
    assert 0.3 <= cropped.coverage <= 0.45  # 60% of the width and height: 36% of the area


@pytest.mark.parametrize(
    "photo",
    ["validation/skirt/ad82f227", "validation/skirt/2ac96388", "validation/longsleeve/55b4f2d7"],
)
def test_a_crop_to_half_the_width_is_compared_at_the_overlaps_own_resolution(photo):
    """The middle half of these photos fills only 64 px of a 128-px thumbnail: cells of 8 x 6
    pixels, which JPEG and resampling spoiled (agreement 0.87-0.91). Such an overlap is compared
    on the 256-px thumbnails."""
    (path,) = DATASET.glob(f"{photo}*.jpg")
    original = Image.open(path).convert("RGB")

    found = _match(_decoded(encoded(crop(original, 0.25, 0.25, 0.25, 0.25))), original)

    assert 0.2 <= found.coverage <= 0.3  # a quarter of the registered image
    assert verification.is_verified(found), found


@pytest.mark.parametrize("photo", ["validation/*/98daa3f5", "validation/*/9de18803"])
def test_a_half_turned_crop_lines_up_pixel_for_pixel(photo):
    """Turned upside down, a copy's pixels land where they should only if pixel centres are
    mapped right: half a pixel off, these agreed at 0.93 instead of 0.98."""
    (path,) = DATASET.glob(f"{photo}*.jpg")
    original = Image.open(path).convert("RGB")
    copy = ImageOps.grayscale(crop(original.rotate(180), 0.1, 0.1, 0.1, 0.1))

    found = _match(_decoded(encoded(copy)), original)

    assert found.agreement >= 0.95


def test_an_entry_registered_before_fine_thumbnails_still_verifies_its_copies():
    """Entries registered before the fine thumbnail was kept hold the 128-px one only, until
    `guard_refingerprint` runs: their small overlaps are compared on it, as before."""
    photo = Image.open(dataset_photos(3)[2]).convert("RGB")
    upright = fingerprints.fingerprint(photo).upright
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        upright_points=upright.points,
        upright_descriptors=upright.descriptors,
        upright_thumbnail=upright.thumbnail,
    )
    reference = fingerprints.load_orientation(buffer.getvalue())
    assert reference.fine_thumbnail is None

    for copy in (encoded(with_badge(photo, 0.15)), encoded(crop(photo, 0.2, 0.2, 0.2, 0.2))):
        query = fingerprints.query_print(_decoded(copy)).upright
        assert verification.is_verified(fingerprints.geometric_match(query, reference))


def test_the_same_skirt_shot_twice_does_not_agree_like_a_copy():
    (first,) = (DATASET / "train").glob("skirt/02341619*.jpg")
    (second,) = (DATASET / "train").glob("skirt/78b7da73*.jpg")

    found = _match(Image.open(second), Image.open(first))

    assert found.inliers >= 50  # the same skirt in the same place: many features match
    assert found.agreement < thresholds.MIN_AGREEMENT  # but the pixels do not line up


def test_two_t_shirts_of_one_cut_line_up_but_share_few_keypoints():
    (blue,) = (DATASET / "train").glob("t-shirt/3fc85a3e*.jpg")
    (red,) = (DATASET / "train").glob("t-shirt/fa9757e7*.jpg")
    photo = Image.open(blue)

    different = _match(Image.open(red), photo)
    copy = _match(_decoded(encoded(crop(photo, 0.2, 0.2, 0.2, 0.2))), photo)

    # The outlines line up about as well as a copy's pixels (0.93-0.95 against an entry's 500
    # features, 0.91 against 1,500) ...
    assert different.agreement >= 0.9
    assert different.share < thresholds.MIN_INLIER_SHARE  # but the garments are not one
    assert different.chroma > thresholds.MAX_CHROMA  # nor of one colour
    assert copy.share >= 2 * thresholds.MIN_INLIER_SHARE
    assert copy.chroma == 0


@pytest.mark.parametrize(
    ("photo", "cut"),
    [("test/skirt/309829b2", (0.5, 0.5, 0.0, 0.0)), ("test/pants/84d794c2", (0.25,) * 4)],
)
def test_a_crop_to_a_quarter_that_loses_its_plain_margin_too_is_verified(photo, cut):
    """A crop to half the width and height is a quarter of its image, less once its own plain
    margin (a bare wall, a floor) is trimmed: these cover 17-19% of their entries."""
    (path,) = DATASET.glob(f"{photo}*.jpg")
    original = Image.open(path).convert("RGB")

    found = _match(_decoded(encoded(crop(original, *cut))), original)

    assert found.coverage < 0.2
    assert verification.is_verified(found)


def test_a_re_lit_copy_is_verified_though_its_saturated_colours_moved():
    """Brightening moves the Lab a/b of saturated colours: a third of this dress's cells changed
    colour, past what two different garments differ by, but its grayscale pixels are the same."""
    (path,) = (DATASET / "validation").glob("dress/22ee2330*.jpg")
    photo = Image.open(path).convert("RGB")
    brighter = ImageEnhance.Brightness(photo).enhance(1.2)

    found = _match(_decoded(encoded(brighter)), photo)

    assert found.chroma > thresholds.MAX_CHROMA
    assert found.agreement >= thresholds.SAME_PIXELS_AGREEMENT
    assert verification.is_verified(found)


def test_a_grayscale_copy_has_no_colours_to_compare():
    photo = Image.open(dataset_photos(1)[0]).convert("RGB")
    gray = _decoded(encoded(ImageOps.grayscale(crop(photo, 0.2, 0.2, 0.2, 0.2))))

    assert fingerprints.colourless(fingerprints.chroma_thumbnail(gray))
    assert not fingerprints.colourless(fingerprints.chroma_thumbnail(photo))
    found = _match(gray, photo)
    assert found.chroma is None and verification.is_verified(found)


def test_a_degenerate_fit_is_no_match():
    """RANSAC can fit a transform that shrinks everything to a point; no copy lies there (and
    aligning at that scale would ask for an enormous blur)."""
    photo = Image.open(dataset_photos(1)[0]).convert("RGB")
    reference = fingerprints.fingerprint(photo).upright
    dots = Image.new("L", (512, 384), "white")
    query = fingerprints.orientation(dots)
    query.points = reference.points[:40] * 0.01  # the same descriptors, crushed together
    query.descriptors = reference.descriptors[:40]
    query.pyramid_offsets = None  # the positions as given

    assert fingerprints.geometric_match(query, reference) is None


def test_a_second_shot_from_another_place_is_a_perspective_view_and_a_copy_is_not():
    (near,) = (DATASET / "train").glob("t-shirt/2475c540*.jpg")
    (closer,) = (DATASET / "train").glob("t-shirt/ff3f01d5*.jpg")  # the t-shirt unmoved
    photo = Image.open(near)

    second_shot = _match(Image.open(closer), photo)
    copy = _match(_decoded(encoded(crop(photo, 0.25, 0.25, 0.25, 0.25))), photo)

    assert second_shot.agreement >= thresholds.MIN_AGREEMENT  # blurred, only the outline is left
    assert second_shot.perspective > thresholds.MAX_PERSPECTIVE
    assert copy.perspective < thresholds.MAX_PERSPECTIVE / 2


def test_a_homography_fitting_noise_among_few_matches_is_no_perspective():
    # 24 coarse matches of a heavy crop: fitted to all of them, a homography bends to their
    # noise and comes 0.46 px nearer; the matches it was not fitted to it does not fit better.
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 512, (24, 2)).astype(np.float32)
    moved = src * 0.5 + [100, 40]  # a crop to half the width, as a similarity moves it
    noisy = (moved + rng.normal(0, 1.5, moved.shape)).astype(np.float32)
    keystone = np.array([[1, 0.05, 0], [0.02, 1, 0], [4e-4, 3e-4, 1]])  # seen from the side
    tilted = cv2.perspectiveTransform(src[None].astype(np.float64), keystone)[0].astype(np.float32)

    assert abs(perspective_gain(src, noisy, scale=0.5)) < thresholds.MAX_PERSPECTIVE / 2
    assert perspective_gain(src, tilted, scale=1.0) > thresholds.MAX_PERSPECTIVE


def test_the_first_look_lets_hard_copies_through_to_the_fit_and_few_unrelated_photos():
    """A candidate's feature fit runs only after a cheap first look finds a placement
    (verification.best_verified): a heavy crop, a small copy on a page and a covered copy pass
    it; pairs of different real photos rarely do (their few inliers come from matches piled
    onto one spot, which matching each keypoint once takes away)."""
    originals = [Image.open(path).convert("RGB") for path in dataset_photos(6)]
    for original in originals:
        registered = fingerprints.fingerprint(original).upright
        for copy in (
            crop(original, 0.25, 0.25, 0.25, 0.25),
            on_page(original, 0.6),
            with_badge(original, 0.2),
        ):
            query = fingerprints.query_print(_decoded(encoded(copy))).upright
            assert fingerprints.first_look(query, registered) >= thresholds.FIRST_LOOK_INLIERS

    others = [Image.open(path).convert("RGB") for path in dataset_photos(12, split="train")]
    queries = [fingerprints.query_print(photo).upright for photo in others]
    passed = [
        fingerprints.first_look(query, fingerprints.fingerprint(original).upright)
        >= thresholds.FIRST_LOOK_INLIERS
        for original in originals
        for query in queries
    ]
    assert sum(passed) <= 0.1 * len(passed), f"{sum(passed)} of {len(passed)} pairs passed"


@pytest.mark.parametrize("photo", ["test/dress/35f157d0", "validation/skirt/ad82f227"])
def test_a_half_turned_copy_is_placed_where_the_turn_puts_it(photo):
    """ORB reports a keypoint found on a coarse pyramid level up and left of its place; a half
    turn makes the query's levels err the other way, so the fit was 0.9-1.1 px off and the
    aligned pixels agreed at 0.90 / 0.95. Corrected, it is within 0.3 px and they agree at 0.97
    / 1.0 (an upright copy: 0.998)."""
    (path,) = DATASET.glob(f"{photo}*.jpg")
    original = Image.open(path).convert("RGB")
    reference = fingerprints.fingerprint(original).upright
    query = fingerprints.query_print(_decoded(encoded(original.rotate(180)))).upright

    fit = fingerprints.feature_fit(query, reference)

    width, height = fingerprints.normalised(original).size
    probes = np.array([[100.0, 100.0], [250.0, 400.0]])
    placed = probes @ fit.transform[:, :2].T + fit.transform[:, 2]
    turned = np.c_[width - 1 - probes[:, 0], height - 1 - probes[:, 1]]
    assert np.abs(placed - turned).max() <= 0.3
    assert fingerprints.compared(query, reference, fit).agreement >= 0.96


def test_feature_matching_keeps_exactly_the_nearest_descriptors_that_pass_the_ratio_test():
    """The matcher (an exact search of FAISS's binary index) against every Hamming distance
    counted here, for a copy and for an unrelated photo: the same matches, the same nearest
    descriptor, the same distance."""
    from catalog.fingerprints.matching import RATIO_TEST, _ratio_matches

    first, second = (Image.open(path).convert("RGB") for path in dataset_photos(2))
    reference = fingerprints.fingerprint(first).upright.descriptors
    for photo in (crop(first, 0.1, 0.1, 0.3, 0.3), second):
        query = fingerprints.query_print(photo).upright.descriptors
        words = query.view(np.uint64)[:, None, :] ^ reference.view(np.uint64)[None, :, :]
        distances = np.bitwise_count(words).sum(axis=2)
        nearest = np.argsort(distances, axis=1, kind="stable")[:, :2]
        best, runner_up = np.take_along_axis(distances, nearest, axis=1).T
        expected = np.flatnonzero(best < RATIO_TEST * runner_up)

        good, matched, matched_distances = _ratio_matches(query, reference)

        assert len(expected) >= 10
        assert np.array_equal(good, expected)
        assert np.array_equal(matched, nearest[expected, 0])
        assert np.array_equal(matched_distances, best[expected])
