"""Every number the guard decides by, and the measurement behind it (bench/guard.py, the shared
clothing photos; "all pairs" means the 3,781 photos checked against each other, 7.1M pairs)."""

# PDQ (256 bits) refuses on its own up to 31 bits. True copies (re-encode, resize, grayscale,
# brightness, pads and borders once trimmed, quarter turns and mirrors) land <= 31; over all
# pairs the nearest two *different* photos are 44 bits apart (the same skirt shot twice) and
# the next 50: the only pair under 44 is the one photo filed twice (2 bits).
PDQ_MATCH_BITS = 31
# Nearer than this, an entry is verified by local features even when no keypoint voted for it
# (an edit that moved the hash but kept most of the picture).
PDQ_CANDIDATE_BITS = 64

# Local features: each query descriptor asks for its 5 nearest indexed descriptors within 48 of
# 256 bits (true correspondences ~10-40, unrelated ~100). A query sends its upright and its
# mirrored descriptors; the registry holds its entries upright.
KEYPOINT_NEIGHBOURS = 5
KEYPOINT_MATCH_BITS = 48
# A candidate needs this many votes to be looked at: copies cropped by 10% gave their own entry
# >= 5 votes (1st percentile 9, median 34); half the candidates of unrelated photos had <= 4.
MIN_VOTES = 5
# The most voted (entry, side) pairs are checked for one placement of the query in them and
# verified in full only if >= 3 of their votes agree on it (fingerprints.placement_votes); those
# with most agreeing votes are verified. A registered image at half size on a page gets fewer
# raw votes than unrelated entries with busy texture (its own ranked 12th-25th of 60 registered)
# but more agreeing ones: 10 voted found 0.85 of such copies, 30 found 0.92 (60 photos; a
# placement check costs under a millisecond, a verification ~10 ms). Since a first look ends
# most unrelated verifications at a third of their cost (FIRST_LOOK_INLIERS), the 60 most voted
# are checked and the 10 best placed verified: heavy copies whose own entry came 31st-60th by
# votes, or 6th-10th by placement, are candidates too. 120 registered, 7 hard edits of each
# (crops to half the width, pages, bands, tags; offline), own entry never a candidate 44 -> 29
# (crop_corner_50 13 -> 8, crop_centre_20 8 -> 4, page_0.7+band_10 4 -> 1); an unrelated photo
# (200 train photos) 6.8 -> 8.6 candidates, and ~56 placement checks instead of 30 (0.08 ms
# each). 100 and 10 found no more; 45 and 8 lost 6 of the 15.
VOTED_CANDIDATES = 60
MIN_PLACED_VOTES = 3
CANDIDATES = 10
# The reverse re-check (a new entry against the catalog) verifies the 5 catalog images most
# voted for; each costs its print, computed from its file.
RECHECK_CANDIDATES = 5
# The 3 most voted pairs are verified whatever their placement votes: a crop to a quarter of
# the image holds too few of its entry's indexed keypoints to agree on a placement. Against
# verifying only the most voted one (60 registered, two runs each, 300 real photos passed in
# all four): crop_corner_50 0.65 / 0.62 -> 0.68 / 0.67, crop_centre_25 0.73 / 0.73 -> 0.75 /
# 0.77, other heavy crops within one copy; check p50 +20 ms (~13%) in that benchmark.
RAW_VOTED_VERIFIED = 3
# And the 3 whose votes name most distinct keypoints: a band or a tag over part of a copy sends
# its descriptors there to a few flat keypoints of unrelated entries many times over (their 5th
# nearest at 11-26 bits), which outvote the copy's own entry. By distinct keypoints its own
# entry ranked among the 3 first for 119 of 120 band_20 copies (by votes 109), though fewer for
# heavy crops (which the raw count keeps). The guard on 120 registered, 0 / 2 / 3 more: band_20
# 0.975 / 0.983 / 0.983, page_0.5 0.992 / 0.992 / 1.0, page_0.7+band_10 0.967 / 0.975 / 0.975,
# tag_20 and heavy crops the same; 0 of 300 real photos refused; check p50 78.6 / 81.3 / 78.8
# ms (a benchmark running beside; a verification of an unrelated entry costs ~2 ms).
DISTINCT_VOTED_VERIFIED = 3
# A true correspondence sits far closer than anything else, so a narrow HNSW search finds it.
# The index is a sparse graph (m 6, ef_construction 128: 210 bytes a row, 235 at m 8, 334 at
# m 16), searched 24 wide. Against the 242k keypoints of all 3,781 photos, hard copies (a quarter
# crop, a corner crop to half the width and height, half-size on a page) of 80 of them gave their
# own entry (a 5-NN search within 48 bits, as a check runs it; an exact search: ~3,580):
# | index, search breadth | own votes (two builds) | own entry most voted / in top 3, of 240 |
# | m 8, 16 (before) | 3,296 / 3,259 | 151 / 187 |
# | m 6, 24 | 3,269 / 3,239 | 153 / 185 |
# | m 6, 16 | 3,110 | - |
# | m 5, 24 / 32 | 3,053 / 3,140 | 151 / 149 |
# | m 4, 24 | 2,759 | - |
# Lookups for a check's ~190 descriptors took the same at m 8 / 16 and m 6 / 24 (51-52 ms p50
# in one session, one run each after the other). The first 128 bits of each descriptor alone
# (ORB orders its tests by how much they tell) lost a quarter of the votes (m 6: 2,431).
KEYPOINT_EF_SEARCH = 24
# The catalog's keypoint index (IVFFlat, 1,000 lists) is scanned 5 lists wide by the re-check:
# as many of a copy's candidates as 10 or 20 lists, or the HNSW graph it replaced, gave (120
# photos, 29 edits, 10,000 distractor images; models.ProductImageKeypoint), in 0.38 s a
# re-check (10 lists 0.77, 20 lists 1.65).
CATALOG_KEYPOINT_PROBES = 5
# The PDQ lookups: pgvector's default breadth. Narrower lost copies at 100,000 registered
# (random fill): of 1,655 copies within 31 bits of their entry, ef_search 40 / 24 / 16 found
# 1,650 / 1,631 / 1,582 (the 16 lookups of a check: 13.7 / 9.3 / 6.6 ms p50).
DEFAULT_EF_SEARCH = 40

# Geometric verification (fingerprints.geometric_match), calibrated on 49 edits of 60 photos
# and 24,566 pairs of different real photos that look most alike (each photo's 4 nearest by
# PDQ, both ways: same category, same background, the same garment shot twice).
MIN_INLIERS = 10
# A first look before each feature fit (fingerprints.first_look: a third of a registered image's
# features, each matched once): 200 unrelated train photos' 1,360 candidate fits against 120
# registered found 3 inliers at the median, 4 at the 90th percentile, 6 at the 99th (12 at
# most); the copies their fit verifies (9 hard edits of the 120: heavy crops, pages, bands,
# tags; 1,073 voted) found >= 7 but for two corner crops, at 4 and 7 (17 and 38 inliers in the
# fit). At 5, 7% of unrelated candidates go on to the fit, a first look costs 2.1 ms and a fit
# 5.5 (one thread), and one copy in 1,073 is lost (at 4: none lost, 38% go on).
FIRST_LOOK_INLIERS = 5
# One frame inside the other: a crop lies inside the registered image, a framed or padded copy
# holds it. Crops down to half the width and height cover a quarter of it, less once their own
# plain margin (a bare wall, a floor) is trimmed: 0.15-0.199 for 5 of 240 such copies of 120
# photos (offline, own entries: crop_corner_50 112 -> 114 verified, crop_centre_25 111 -> 114
# at 0.15, no more at 0.1). bench/guard.py, 120 registered, 8 crop and page edits, the same
# session, 0.2 / 0.15: misses 55 / 51; all pairs at 0.15: 0 false of 7,146,090.
MIN_CONTAINMENT = 0.9
MIN_COVERAGE = 0.15
# The aligned pixels, cell by cell (median of 8 x 8 cells): copies score >= 0.94 at their
# 10th percentile for every edit class, covered ones included (a logo, a tag or a band over up
# to a fifth of the image); the 24,566 look-alike pairs score at most 0.91 (99.9th percentile
# 0.90), however many inliers they have (the same skirt shot twice: 91 inliers, 0.89).
# Not relaxed for overwhelming geometry, though a band or a tag over a fifth of a garment on a
# plain background pulls some copies' median to 0.64-0.92 with 150-440 inliers (45-88% of the
# overlap's keypoints): all pairs of the shared photos hold an orange and a pink t-shirt laid on
# one patterned bedspread, 275 inliers (56%) and agreement 0.92 (the flat garments count for
# nothing in grayscale). Medians over textured-on-both-sides cells, over cells with inliers, or
# a higher percentile separate no better (look-alikes reach 0.95-0.98 on each).
MIN_AGREEMENT = 0.93
MIN_CELLS = 8
# Inliers / the keypoints in the overlap (on the side with fewer there): two garments of one
# cut shot on one background line up along their outline and pass the agreement (a blue and a
# red t-shirt on one bed: 15-19 inliers, agreement 0.93-0.95, found by all pairs), but only
# 3-4% of the keypoints there find a partner. Copies: >= 0.07 over 1,920 verified copies (40
# photos x 49 edits; 0.1st percentile 0.10, a small copy on a page behind a band lowest); the
# 23,014 PDQ-nearest pairs of different photos that pass or nearly pass the agreement: <= 0.04
# unless the same garment was shot twice (~0.29, which the agreement refuses).
MIN_INLIER_SHARE = 0.05
# A second shot of one garment left where it lay: a black t-shirt on a sheet, photographed
# again closer and out of focus (2475c540 ~ ff3f01d5, found by all pairs), lines up (39-40
# inliers, agreement 0.96-0.97: blur leaves only the outline to compare). Its matches are a
# perspective view: a homography brings them 0.67-0.84 px nearer than a similarity transform
# (fingerprints.matching.perspective_gain; as much for matches left out of the fit). Copies
# move by one similarity transform: at most 0.17 px over 2,871 verified copies (60 photos x 49
# edits; 99.9th percentile 0.10) and 0.19 over 120 photos' hardest edits (heavy crops, pages,
# covers); the dress cropped from one photo and the photo filed twice 0.02. Only ever refuses.
MAX_PERSPECTIVE = 0.4

# Overwhelming geometry: a copy with a band or a tag over a fifth of a plain garment keeps most
# of its keypoints in line (150-440 inliers, 45-88% of the overlap's) while its grayscale cells
# disagree (median 0.64-0.92). Grayscale alone could not refuse it: an orange and a pink t-shirt
# on one patterned bedspread line up as well (275 inliers, 56%, agreement 0.92). Their colours
# differ (MAX_CHROMA below), a covered copy's do not: with the rule band_20 114 -> 118 of 120
# verified, tag_20 116 -> 119, band_10 119 -> 120. Over the 117 candidate pairs of all pairs
# with >= 50 inliers, the geometry below admits only the photo filed twice, a dress the guard
# already matched, and the bedspread pair, which the colours refuse.
OVERWHELMING_INLIERS = 150
OVERWHELMING_SHARE = 0.45
OVERWHELMING_AGREEMENT = 0.6

# Colours (fingerprints.chroma_difference: the share of the overlap's cells whose median Lab
# a/b differ by more than 10). Two garments of one cut in one pose on one background can line
# up in grayscale like a copy: the orange and the pink t-shirt differ in 40% of the cells, two
# t-shirts on one sheet (955d8981 ~ ac2b8fd1, found by all pairs once entries kept 1,500
# features: 303 inliers, 31% of the overlap's, agreement 0.94) in 44%. A copy covered by a
# logo, a tag or a band: at most 23% (120 photos' band_20, tag_20, band_10, logo_12,
# page_0.7+band_10; 60 photos x 49 edits: at most 20%). A verification refuses colours that
# differ in more than MAX_CHROMA of the cells, a grayscale copy (no colour to compare) aside.
MAX_CHROMA = 0.3
# ... unless the grayscale pixels settle it: a copy re-lit (brightness +20%) moves the a/b of
# saturated colours past 10 in up to 38% of its cells (60 photos x 49 edits, own entries: 2
# over MAX_CHROMA, both at agreement 0.998), while the look-alikes above reach 0.92-0.94, and
# all pairs, with this rule, match no two different photos (0 of 7,146,090). A recoloured copy
# keeps its grayscale, and so is found too.
SAME_PIXELS_AGREEMENT = 0.97
