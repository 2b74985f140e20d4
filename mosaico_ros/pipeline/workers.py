"""Forked worker processes answering one request at a time, each over its own socket pair.

`concurrent.futures.ProcessPoolExecutor` shares one queue between its
workers and feeds it from a thread; on Python 3.11 a worker killed while
that thread writes a large request leaves the thread blocked for good,
and the executor's shutdown with it (CPython gh-94777, fixed in 3.12). A
conversion pool must fail loudly instead, so each worker here has a
socket of its own, a request goes only to an idle worker, and every wait
has a deadline:

- a worker that dies closes its end, and the parent reads end-of-file;
- a worker that stops answering is given `stall_s` to take a request and
  to reply, then the caller is told it is stuck;
- a parent that dies closes its ends, and every worker reads end-of-file
  and leaves.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import socket
import struct
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import wait as wait_readable
from multiprocessing.process import BaseProcess
from typing import Any

_HEADER = struct.Struct('<Q')
_READY = 'ready'
WORKER_NAME = 'mosaico-ros-converter'
"""The name of every worker process (`multiprocessing.active_children` tells them apart)."""


class WorkerLost(Exception):  # noqa: N818 - a condition, as the standard library's BrokenProcessPool
    """A worker died or stopped answering.

    Attributes:
        worker: The worker (its `task` names what it was doing).
        stuck: True when it is alive but did not answer in time.

    """

    def __init__(self, worker: Worker, reason: str, *, stuck: bool = False) -> None:
        """Name the worker and what happened to it."""
        super().__init__(reason)
        self.worker = worker
        self.stuck = stuck


class WorkerFailed(Exception):  # noqa: N818 - carries a worker's exception, as a reply
    """A request raised an exception in the worker (the worker lives on).

    Attributes:
        task: What the worker was doing.

    """

    def __init__(self, task: Any, reason: str) -> None:
        """Name the task and the exception."""
        super().__init__(reason)
        self.task = task


class Worker:
    """One forked process and the parent's end of its socket pair.

    Attributes:
        process: The process.
        task: What the caller gave it to do, None while idle.

    """

    def __init__(self, process: BaseProcess, connection: socket.socket) -> None:
        """Hold a started worker."""
        self.process = process
        self.connection = connection
        self.task: Any = None


class ForkedWorkers:
    """Worker processes forked on entering, each running `handle` on the requests it is sent.

    Args:
        count: Worker processes.
        setup: Runs once in each worker before its first request.
        handle: Runs in a worker on each request; its return value is the reply.
        stall_s: Longest a worker may take to start, to take a request or to reply.

    """

    def __init__(
        self,
        count: int,
        setup: Callable[[], None],
        handle: Callable[[Any], Any],
        stall_s: float,
    ) -> None:
        """Prepare; nothing is forked before entering."""
        self.count = count
        self.setup = setup
        self.handle = handle
        self.stall_s = stall_s
        self.workers: list[Worker] = []

    def __enter__(self) -> ForkedWorkers:
        """Fork the workers and wait until each has said it is ready.

        Raises:
            WorkerLost: A worker died or did not start within `stall_s`.

        """
        context = multiprocessing.get_context('fork')
        try:
            for _ in range(self.count):
                ours, theirs = socket.socketpair()
                inherited = [worker.connection for worker in self.workers] + [ours]
                process = context.Process(
                    target=_serve,
                    args=(theirs, inherited, self.setup, self.handle),
                    name=WORKER_NAME,
                    daemon=True,
                )
                try:
                    process.start()
                except BaseException:
                    ours.close()
                    raise
                finally:
                    theirs.close()
                self.workers.append(Worker(process, ours))
            for worker in self.workers:
                if self._reply(worker) != _READY:
                    raise WorkerLost(worker, 'answered something else than ready')
        except BaseException:
            self.stop(kill=True)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        """Stop the workers, killing them if leaving on an error."""
        self.stop(kill=exc_type is not None)

    def stop(self, kill: bool) -> None:
        """End every worker: told by end-of-file, or killed (a stuck one never reads it)."""
        workers, self.workers = self.workers, []
        for worker in workers:
            if kill and worker.process.is_alive():
                worker.process.kill()
            worker.connection.close()
        deadline = time.monotonic() + 5.0
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()

    def idle(self) -> list[Worker]:
        """Return the workers with no request."""
        return [worker for worker in self.workers if worker.task is None]

    def send(self, worker: Worker, request: Any, task: Any) -> None:
        """Give an idle worker a request, remembering `task` as what it is doing.

        Raises:
            WorkerLost: The worker is gone or does not take the request within `stall_s`.

        """
        assert worker.task is None, 'one request at a time'
        worker.task = task
        worker.connection.settimeout(self.stall_s)
        try:
            _send(worker.connection, request)
        except TimeoutError:
            raise WorkerLost(worker, self._late('took no request'), stuck=True) from None
        except OSError as err:
            raise WorkerLost(worker, f'is gone ({err})') from None

    def replies(self, timeout: float) -> list[tuple[Any, Any]]:
        """Return (task, reply) for the replies that arrive within `timeout` s, freeing workers.

        Raises:
            WorkerLost: A worker died with a request, or stopped in the middle of a reply.
            WorkerFailed: A request raised in its worker (that worker is free again).

        """
        busy = {worker.connection: worker for worker in self.workers if worker.task is not None}
        if not busy:
            return []
        replies = []
        for ready in wait_readable(list(busy), timeout):
            assert isinstance(ready, socket.socket)
            worker = busy[ready]
            reply = self._reply(worker)
            task, worker.task = worker.task, None
            replies.append((task, reply))
        return replies

    def _late(self, what: str) -> str:
        return f'{what} for {self.stall_s:.0f} s'

    def _reply(self, worker: Worker) -> Any:
        worker.connection.settimeout(self.stall_s)
        try:
            status, value = _receive(worker.connection)
        except TimeoutError:
            raise WorkerLost(worker, self._late('did not answer'), stuck=True) from None
        except (EOFError, OSError):
            worker.process.join(1.0)
            code = worker.process.exitcode
            how = (
                f'exit code {code}' if code is not None and code >= 0 else f'signal {-(code or 0)}'
            )
            raise WorkerLost(worker, f'ended abruptly ({how})') from None
        if status == 'failed':
            task, worker.task = worker.task, None
            raise WorkerFailed(task, value)
        return value


def _read_exactly(connection: socket.socket, size: int) -> bytearray:
    data = bytearray(size)
    view = memoryview(data)
    done = 0
    while done < size:
        received = connection.recv_into(view[done:])
        if not received:
            raise EOFError
        done += received
    return data


def _send(connection: socket.socket, value: Any) -> None:
    """Send one value, pickled, after its length (both ends frame messages alike)."""
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    connection.sendall(_HEADER.pack(len(body)))
    connection.sendall(body)


def _receive(connection: socket.socket) -> Any:
    """Receive one value `_send` sent; EOFError when the other end closed."""
    header = _read_exactly(connection, _HEADER.size)
    return pickle.loads(_read_exactly(connection, _HEADER.unpack(header)[0]))


def _serve(
    connection: socket.socket,
    inherited: Iterable[socket.socket],
    setup: Callable[[], None],
    handle: Callable[[Any], Any],
) -> None:
    """Live as a worker: set up, say ready, answer requests until the parent's end closes."""
    for parent_end in inherited:
        parent_end.close()  # else a dead parent's end would stay open here
    code = 1
    try:
        setup()
        _send(connection, ('ok', _READY))
        while True:
            try:
                request = _receive(connection)
            except (EOFError, OSError):
                break
            try:
                reply: tuple[str, Any] = ('ok', handle(request))
            except Exception as err:  # handed to the parent, which reports it
                reply = ('failed', f'{type(err).__name__}: {err}')
            _send(connection, reply)
        code = 0
    finally:
        os._exit(code)
