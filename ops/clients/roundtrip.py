"""Round trip through the Python client openapi-python-client generated from the live
document (ops/clients/test.py), used exactly as generated: create, get, list with a filter
and a cursor, patch with If-Match (a stale one refused), delete, a 422 parsed as a problem.

usage: roundtrip.py GENERATED_PACKAGE_DIR   (HEARTH_URL, HEARTH_TOKEN in the environment)
"""
import datetime
import importlib
import os
import sys
from http import HTTPStatus

package_dir = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.dirname(package_dir))
pkg = os.path.basename(package_dir)
client_mod = importlib.import_module(f"{pkg}.client")
notes = {name: importlib.import_module(f"{pkg}.api.notes.{name}")
         for name in ("create_notes", "get_notes", "list_notes", "patch_notes", "delete_notes")}
models = importlib.import_module(f"{pkg}.models")
UNSET = importlib.import_module(f"{pkg}.types").UNSET

client = client_mod.AuthenticatedClient(base_url=os.environ["HEARTH_URL"],
                                        token=os.environ["HEARTH_TOKEN"],
                                        raise_on_unexpected_status=True)


def expect(resp, status):
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.content[:500]!r}"
    return resp.parsed


with client as c:
    # Create: every kind of value goes out through the generated model and comes back typed.
    made = []
    for i in range(5):
        body = models.NotesCreate(
            title=f"python {i}", views=i * 10, score=i / 2, done=i % 2 == 0,
            status=models.NotesCreateStatus.PUBLISHED, due=datetime.date(2026, 12, i + 1),
            seen_at=datetime.datetime(2026, 12, 3, 9, i, tzinfo=datetime.timezone.utc),
            contact=f"n{i}@example.org", link=f"https://example.org/{i}",
            meta={"tags": ["a", str(i)]})
        resp = notes["create_notes"].sync_detailed(client=c, body=body)
        record = expect(resp, HTTPStatus.CREATED)
        assert isinstance(record, models.NotesRecord), record
        assert resp.headers["etag"] == f'"{record.version}"'
        assert resp.headers["location"].endswith(f"/notes/{record.id}")
        assert record.due == datetime.date(2026, 12, i + 1) and record.views == i * 10
        made.append(record)

    # Get, typed.
    got = expect(notes["get_notes"].sync_detailed(made[0].id, client=c), HTTPStatus.OK)
    assert got.title == "python 0" and got.status == models.NotesRecordStatus.PUBLISHED, got

    # List with a filter, two records a page, following next_cursor to the end.
    seen, cursor = [], UNSET
    while True:
        page = expect(notes["list_notes"].sync_detailed(
            client=c, filter_="views >= 10 && title ~ 'python'", sort="views", limit=2,
            cursor=cursor, count=True), HTTPStatus.OK)
        assert isinstance(page, models.NotesList) and page.total == 4, page
        seen += [item.title for item in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == ["python 1", "python 2", "python 3", "python 4"], seen

    # Patch with If-Match: the current ETag wins, a stale one gets 412 as a problem.
    etag = f'"{made[1].version}"'
    resp = notes["patch_notes"].sync_detailed(made[1].id, client=c, if_match=etag,
                                              body=models.NotesPatch(title="patched", views=99))
    patched = expect(resp, HTTPStatus.OK)
    assert patched.title == "patched" and patched.version == made[1].version + 1, patched
    # Fields the patch did not name keep their values (no default sent for them).
    assert patched.status == models.NotesRecordStatus.PUBLISHED and patched.score == 0.5, patched
    stale = expect(notes["patch_notes"].sync_detailed(
        made[1].id, client=c, if_match=etag, body=models.NotesPatch(title="again")),
        HTTPStatus.PRECONDITION_FAILED)
    assert isinstance(stale, models.Problem) and stale.code == "precondition_failed", stale

    # A 422, parsed as a problem with its field errors.
    bad = expect(notes["create_notes"].sync_detailed(
        client=c, body=models.NotesCreate(title="", views=-1)), HTTPStatus.UNPROCESSABLE_ENTITY)
    assert isinstance(bad, models.Problem) and bad.code == "validation_failed", bad
    fields = sorted(e.field for e in bad.errors)
    assert fields == ["title", "views"], fields

    # Delete, then it is gone (a 404 problem).
    expect(notes["delete_notes"].sync_detailed(made[2].id, client=c), HTTPStatus.NO_CONTENT)
    gone = expect(notes["get_notes"].sync_detailed(made[2].id, client=c), HTTPStatus.NOT_FOUND)
    assert isinstance(gone, models.Problem) and gone.code == "not_found", gone

print("--- python client: create, get, list (filter, cursor), patch (If-Match), delete, 422: ok")
