"""The merchant studio pages: the fidelity slider, concepts back to real products, boards."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from catalog.images import read_upload
from catalog.models import Product
from creation import boards, selectors, services, studio
from creation.bounds import FIDELITY, MAX_QUERY, NUM_IMAGES, SEED
from creation.permissions import merchant_required
from creation.studio_apis import board_zip_response
from retrieval.filters import SearchFilters

SIMILAR_SHOWN = 24


class StudioForm(forms.Form):
    q = forms.CharField(label="Words", max_length=MAX_QUERY, required=False)
    image = forms.FileField(label="or a photo", required=False)
    product = forms.IntegerField(label="or a product (id)", min_value=1, required=False)
    fidelity = FIDELITY.form_field(label="Fidelity", initial=1.0)
    num_images = NUM_IMAGES.form_field(label="Concepts", initial=2)
    seed = SEED.form_field(label="Seed (optional)", required=False)


@merchant_required
def studio_page(request, merchant):
    """POST: real products, then concepts. A words or product query then redirects to its
    results page (GET with `shown=1`), which only reads, so a reload never starts another job.
    A photo cannot travel in a URL: its results are the POST's answer. GET: the form, prefilled
    from the query string."""
    if request.method == "POST":
        return _studio_answer(request, merchant)
    if request.GET.get("shown") == "1":
        return _studio_shown(request, merchant)
    form = StudioForm(initial=request.GET.dict())
    return render(request, "studio/studio.html", _context(merchant, form))


def _studio_answer(request, merchant):
    form = StudioForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "studio/studio.html", _context(merchant, form), status=400)
    data = form.cleaned_data

    def run():
        photo = read_upload(data["image"]) if data["image"] else None
        query = _query_from(data, photo=photo)
        return studio.studio_search(merchant=merchant, user=request.user, query=query)

    result, failure = _answered(form, run)
    if failure:
        return render(request, "studio/studio.html", _context(merchant, form), status=failure)
    if result.query.kind == "photo":
        return render(request, "studio/studio.html", _context(merchant, form, result=result))
    shown = {k: v for k, v in request.POST.items() if k in ("q", "product", "fidelity")}
    shown |= {"num_images": data["num_images"], "shown": 1}
    if result.job is not None:
        shown["job"] = result.job.pk
    return redirect(f"{reverse('studio:studio')}?{urlencode(shown)}")


def _studio_shown(request, merchant):
    form = StudioForm(request.GET)
    if not form.is_valid():
        return render(request, "studio/studio.html", _context(merchant, form), status=400)
    job = None
    if request.GET.get("job", "").isdigit():
        job = selectors.create_job_get(merchant=merchant, pk=int(request.GET["job"]))
    query = _query_from(form.cleaned_data, photo=None)
    result, failure = _answered(form, lambda: studio.studio_result_shown(query=query, job=job))
    context = _context(merchant, form, **({} if failure else {"result": result}))
    return render(request, "studio/studio.html", context, status=failure or 200)


def _query_from(data: dict, *, photo: bytes | None) -> studio.StudioQuery:
    return studio.StudioQuery(
        fidelity=data["fidelity"],
        text=(data["q"] or "").strip(),
        photo=photo,
        product_id=data["product"],
        seed=data["seed"],
        num_images=data["num_images"],
    )


def _answered(form, run):
    """(result, None), or (None, status) with the reason added to the form."""
    try:
        return run(), None
    except ValidationError as err:
        form.add_error(None, " ".join(err.messages))
        return None, 400
    except Product.DoesNotExist:
        form.add_error("product", "No such product in the catalog.")
        return None, 404
    except services.QuotaExceeded as err:
        form.add_error(None, str(err))
        return None, 429


def _context(merchant, form, **extra) -> dict:
    fidelity = _fidelity_shown(form)
    return {
        "form": form,
        "stops": studio.STOPS,
        "stops_json": studio.STOPS,
        "fidelity_value": fidelity,
        "fidelity_stop": studio.stop_label(fidelity),
        "merchant": merchant,
        "boards": selectors.boards_of(merchant=merchant),
        **extra,
    }


def _fidelity_shown(form) -> float:
    """Where the slider stands: what was sent if it is a number in [0, 1], else 1."""
    try:
        value = float(form["fidelity"].value())
    except (TypeError, ValueError):
        return 1.0
    return value if 0 <= value <= 1 else 1.0


@require_GET
@merchant_required
def job_concepts(request, merchant, pk: int):
    """The concept tiles of a job, server-rendered; the progress script swaps them in."""
    job = selectors.create_job_get(merchant=merchant, pk=pk)
    return render(
        request,
        "studio/_concept_tiles.html",
        {
            "concepts": selectors.job_concepts(job=job),
            "boards": selectors.boards_of(merchant=merchant),
            "job": job,
        },
    )


@require_GET
@merchant_required
def concept_similar(request, merchant, pk: int):
    """Back from concept to catalog: photo search over the real products with the concept."""
    concept = selectors.concept_get(merchant=merchant, pk=pk)
    page = studio.products_like_concept(
        concept=concept, filters=SearchFilters(), page_size=SIMILAR_SHOWN
    )
    return render(
        request,
        "studio/concept_similar.html",
        {
            "concept": concept,
            "real": page,
            "merchant": merchant,
            "boards": selectors.boards_of(merchant=merchant),
        },
    )


@require_POST
@merchant_required
def concept_save(request, merchant, pk: int):
    """Save a concept to a chosen board, or to a new one named in the same form."""
    concept = selectors.concept_get(merchant=merchant, pk=pk)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    try:
        new_name = request.POST.get("new_board", "").strip()
        if new_name:
            board = boards.board_create(merchant=merchant, user=request.user, name=new_name)
        elif request.POST.get("board", "").isdigit():
            board = selectors.board_get(merchant=merchant, pk=int(request.POST["board"]))
        else:
            raise ValidationError("Pick a board or name a new one.", code="no_board")
        added = boards.board_concept_add(board=board, concept=concept)
    except ValidationError as err:
        messages.error(request, " ".join(err.messages))
        return redirect(back or "studio:boards")
    verb = "Saved" if added else "Already on"
    messages.success(request, f"{verb} board “{board.name}”: concept #{concept.pk}.")
    return redirect(back or board_url(board))


def board_url(board) -> str:
    return reverse("studio:board", args=[board.pk])


@merchant_required
def boards_page(request, merchant):
    error = ""
    if request.method == "POST":
        try:
            board = boards.board_create(
                merchant=merchant, user=request.user, name=request.POST.get("name", "")
            )
        except ValidationError as err:
            error = " ".join(err.messages)
        else:
            return redirect(board_url(board))
    context = {"boards": selectors.boards_of(merchant=merchant), "error": error}
    return render(request, "studio/boards.html", context, status=400 if error else 200)


@require_GET
@merchant_required
def board_page(request, merchant, pk: int):
    board = selectors.board_get(merchant=merchant, pk=pk)
    context = {"board": board, "concepts": selectors.board_concepts(board=board)}
    return render(request, "studio/board.html", context)


@require_POST
@merchant_required
def board_concept_remove(request, merchant, pk: int, concept_id: int):
    board = selectors.board_get(merchant=merchant, pk=pk)
    boards.board_concept_remove(board=board, concept_id=concept_id)
    messages.success(request, f"Took concept #{concept_id} off the board.")
    return redirect(board_url(board))


@require_POST
@merchant_required
def board_delete(request, merchant, pk: int):
    board = selectors.board_get(merchant=merchant, pk=pk)
    boards.board_delete(board=board)
    messages.success(request, f"Deleted board “{board.name}” (its concepts are kept).")
    return redirect("studio:boards")


@require_GET
@merchant_required
def board_export(request, merchant, pk: int):
    board = selectors.board_get(merchant=merchant, pk=pk)
    try:
        return board_zip_response(board)
    except ValidationError as err:
        context = {"board": board, "concepts": [], "error": " ".join(err.messages)}
        return render(request, "studio/board.html", context, status=400)
