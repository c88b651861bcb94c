"""Shared fixtures: Pulumi's mock engine, set up before any program or component runs.

Each test gets a fresh engine that records every registration (type, name, parent, protect,
inputs), so tests can assert the whole set of children a component creates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.offline import KmsMocks, RecordingMonitor

# Tests that make a program fail inside an apply leave the SDK's own futures holding that
# exception; asyncio reports each one again when it is garbage-collected, after the test has
# already asserted it. Those reports are noise in the test log, not findings.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

PROJECT_DIR = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-west-2"

EngineFactory = Callable[..., RecordingMonitor]


@pytest.fixture
def make_engine() -> Iterator[EngineFactory]:
    """Start a recording mock engine for a given stack, account and config."""

    def start(
        *,
        stack: str = "dev",
        account_id: str = ACCOUNT,
        region: str = REGION,
        config: dict[str, str] | None = None,
        mocks: pulumi.runtime.Mocks | None = None,
    ) -> RecordingMonitor:
        chosen = mocks or KmsMocks(account_id=account_id, region=region)
        monitor = RecordingMonitor(chosen)
        pulumi.runtime.set_mocks(
            chosen, project="kms-keys", stack=stack, preview=False, monitor=monitor
        )
        pulumi.runtime.set_all_config({"aws:region": region, **(config or {})})
        return monitor

    yield start
    pulumi.runtime.set_all_config({})


def run_program(program: Callable[[], Any]) -> None:
    """Run *program* to completion under the current mocks, awaiting what it returns.

    Afterwards every registration has finished, so a test can assert the whole tree.
    """

    @pulumi.runtime.test
    def run() -> Any:
        return program()

    run()


@pytest.fixture
def engine(make_engine: EngineFactory) -> RecordingMonitor:
    """A recording mock engine for stack `dev` of account 111122223333 in us-west-2."""
    return make_engine()
