"""Every setting has one name: the action input, its SNAIL_* variable, the CLI option and the Settings
field all follow from one row of settings.OPTIONS, and action.yml agrees with the table."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from snail_action import cli
from snail_action.settings import OPTIONS, RUNNER_ENV, Settings

ACTION = yaml.safe_load((Path(__file__).parent.parent / "action.yml").read_text(encoding="utf-8"))
# Inputs of the action itself, not settings of snail-images: they shape the composite's own steps.
ACTION_ONLY_INPUTS = {"python-version", "install"}
ACTION_ONLY_ENV = {"SNAIL_PYTHON"}


def sync_step_env() -> dict[str, str]:
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == "sync"]
    return step["env"]


def test_the_action_inputs_are_the_tables_action_inputs():
    assert set(ACTION["inputs"]) - ACTION_ONLY_INPUTS == {o.input for o in OPTIONS if o.action_input}


def test_each_input_reaches_the_program_as_its_own_variable_and_nothing_else_does():
    env = sync_step_env()
    assert {k: v for k, v in env.items() if k not in ACTION_ONLY_ENV} == {
        o.env: "${{ inputs." + o.input + " }}" for o in OPTIONS if o.action_input}


def test_every_settings_field_is_one_row_of_the_table_or_set_by_the_runner():
    rows = [o.name for o in OPTIONS]
    assert len(rows) == len(set(rows))
    assert sorted(rows + list(RUNNER_ENV)) == sorted(f.name for f in fields(Settings))


def _parser(command: str) -> argparse.ArgumentParser:
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


@pytest.mark.parametrize("opt", OPTIONS, ids=lambda o: o.name)
def test_the_cli_option_is_the_same_name(opt):
    commands = {"all": ["plan", "sync", "status"], "range": ["plan", "check", "sync"], "api": ["sync", "status"],
                "sync": ["sync"]}[opt.group]
    for command in commands:
        (action,) = [a for a in _parser(command)._actions if opt.flag in a.option_strings]
        assert (action.option_strings, action.dest) == ([opt.flag], opt.name)


SAMPLES = {"path": "/r", "before": "abc", "after": "def", "all": "true", "on_non_image": "warn",
           "include": "a/**,b", "exclude": "c", "api_url": "http://x", "api_key": "k", "aws_sign": "true",
           "aws_region": "eu-west-1", "mode": "reconcile", "concurrency": "3", "dry_run": "true",
           "direct_upload_limit": "99", "results": "/tmp/r.json", "repository_name": "octo/images",
           "ref": "refs/heads/main"}


@pytest.mark.parametrize("opt", OPTIONS, ids=lambda o: o.name)
def test_the_variable_sets_the_field_of_the_same_name(opt):
    default = getattr(Settings(), opt.name)
    got = getattr(Settings.from_environ({opt.env: SAMPLES[opt.name]}), opt.name)
    assert got != default and got == opt.parse(opt.input, SAMPLES[opt.name])
