"""Running one piece of work in two threads at once, as two workers or two people would."""

import threading

from django.db import connection


def two_workers_at_once(job) -> list:
    """What `job()` returned in each of two threads started together (each closes its own
    connection); fails the test if either raised or did not finish within a minute."""
    start, results, errors = threading.Barrier(2), [], []

    def work():
        try:
            start.wait()
            results.append(job())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert len(results) == 2
    return results
