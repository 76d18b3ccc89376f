"""Modzy's own Python SDK (modzy-sdk on PyPI) against job-history's REST routes.

Run by scripts/e2e in a throwaway virtual environment against a real `serve --demo`:
    API_KEY=PREFIX.SECRET python tests/sdk/modzy_e2e.py http://127.0.0.1:PORT/api
Drives ApiClient exactly as a Modzy user would: models.get_models(), jobs.get_history() with
every parameter, jobs.submit_text(), jobs.get(), jobs.cancel(), and checks that the SDK raises
its own error classes for the service's 400, 401, 404 and 409 answers.
"""

import os
import sys
import uuid
from datetime import datetime, timedelta, timezone

from modzy import ApiClient
from modzy.error import BadRequestError, ConflictError, NotFoundError

checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"modzy SDK e2e: FAILED: {what}")
    checks += 1


def raises(error_class, call, says, what):
    try:
        call()
    except error_class as e:
        check(says in e.message, f"{what}: message {e.message!r} should say {says!r}")
        return
    except Exception as e:  # noqa: BLE001 - any other class is the failure being tested
        raise SystemExit(f"modzy SDK e2e: FAILED: {what}: raised {type(e).__name__}: {e}")
    raise SystemExit(f"modzy SDK e2e: FAILED: {what}: nothing raised")


def main():
    base_url, key = sys.argv[1], os.environ["API_KEY"]
    prefix = key.split(".")[0]
    # The constructor checks the connection with GET /models; a bad key cannot connect.
    client = ApiClient(base_url=base_url, api_key=key)
    try:
        ApiClient(base_url=base_url, api_key=prefix + ".wrong-secret")
        raise SystemExit("modzy SDK e2e: FAILED: a wrong key connected")
    except ValueError:
        check(True, "a wrong key cannot connect")

    models = client.models.get_models()
    check(len(models) > 0, "models.get_models() lists the catalogue")
    model = models[0]
    check(model.modelId and model.latestVersion in model.versions, f"model shape: {model}")

    # Submit, read, cancel.
    job = client.jobs.submit_text(
        model.modelId,
        model.latestVersion,
        {"first": {"input.txt": "héllo"}, "second": {"input.txt": "bonjour", "b.txt": "x"}},
    )
    check(job.status == "SUBMITTED", f"submit_text answers the created job: {job}")
    check(job.total == 2 and job.input_byte_amount == 6 + 8, f"one input per source: {job}")
    again = client.jobs.get(job.job_identifier)
    check(again.job_identifier == job.job_identifier, "jobs.get finds it")
    check(sorted(i["identifier"] for i in again.job_inputs) == ["first", "second"], "inputs")
    canceled = client.jobs.cancel(job.job_identifier)
    check(canceled.status == "CANCELED", f"jobs.cancel answers the canceled job: {canceled}")
    raises(ConflictError, lambda: client.jobs.cancel(job.job_identifier),
           "cannot cancel a job that is CANCELED", "cancel twice")
    raises(NotFoundError, lambda: client.jobs.get(str(uuid.uuid4())), "no job with identifier",
           "an unknown job")
    raises(BadRequestError, lambda: client.jobs.submit_text(model.modelId, "0.0.0-none",
                                                            {"s": {"i": "x"}}),
           f"no model {model.modelId} version 0.0.0-none", "an unknown model version")

    # The history with every parameter the SDK has.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    first = client.jobs.get_history(per_page=5)
    check(len(first) == 5, f"get_history() pages by 5: {len(first)}")
    # A job this key submitted (the demo's simulator and seed submit with it).
    mine = client.jobs.get_history(access_key=prefix, per_page=1)
    check(len(mine) == 1, "the key has submitted jobs")
    sample = client.jobs.get(mine[0].job_identifier)
    user = sample.user["lastName"][:4].lower()
    name = sample.model["name"][:5]
    args = dict(user=user, access_key=prefix, start_date=now - timedelta(days=400), end_date=now,
                model=name, status="all", sort_by="createdAt", direction="asc", per_page=3)
    page1 = client.jobs.get_history(page=1, **args)
    page2 = client.jobs.get_history(page=2, **args)
    check(len(page1) > 0, f"the filtered history is not empty: {args}")
    both = page1 + page2
    check(len({j.job_identifier for j in both}) == len(both), "pages do not overlap")
    for j in both:
        check(j.submitted_by == prefix, "accessKey filters")
        check(user in (j.user["firstName"] + j.user["lastName"] + j.user["email"]).lower(),
              "user filters")
        check(name.lower() in j.model["name"].lower(), "model filters")
    check([j.created_at for j in both] == sorted(j.created_at for j in both), "sort-by, asc")
    terminated = client.jobs.get_history(status="terminated", per_page=20)
    check(all(j.status in ("COMPLETED", "CANCELED", "TIMEDOUT", "ERROR") for j in terminated),
          "status=terminated")
    pending = client.jobs.get_history(status="PENDING", per_page=20)
    check(all(j.status in ("SUBMITTED", "IN_PROGRESS") for j in pending), "status=pending")

    # Modzy's 400s, as the SDK's own error class.
    raises(BadRequestError, lambda: client.jobs.get_history(end_date=now), "`endDate` needs a",
           "endDate without startDate")
    raises(BadRequestError, lambda: client.jobs.get_history(start_date=now + timedelta(days=1)),
           "is in the future", "a startDate in the future")
    raises(BadRequestError,
           lambda: client.jobs.get_history(start_date=now - timedelta(days=1),
                                           end_date=now - timedelta(days=2)),
           "is before `startDate`", "endDate before startDate")
    raises(BadRequestError, lambda: client.jobs.get_history(sort_by="colour"),
           "not a sortable job field", "an unknown sort-by")
    raises(BadRequestError, lambda: client.jobs.get_history(status="finished"),
           "is not a status", "an unknown status")
    raises(BadRequestError, lambda: client.jobs.get_history(per_page=1000),
           "per-page must be at most 100", "per-page over the cap")
    raises(BadRequestError, lambda: client.jobs.get_history(direction="up"),
           "direction must be asc or desc", "an unknown direction")
    print(f"modzy SDK e2e: {checks} checks passed (modzy-sdk against {base_url})")


if __name__ == "__main__":
    main()
