"""A broken rule fails at load with file, line, rule id and field; a config adds or overrides."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import re2

from shared.cli.main import main
from shared.config import ConfigError, load_config
from shared.rulebook import load as load_module
from shared.rulebook.errors import RulebookError
from shared.rulebook.load import RULES_DIR, builtin_rulebook, load_rulebook, write_parsed
from shared.rulebook.parsed import NAME

GOOD = """
  - id: {id}
    category: model_error
    severity: error
    title: t
    match: {{any: ['boom']}}
    fix: f
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_builtin_rulebook_loads() -> None:
    book = builtin_rulebook()
    assert book.rules and book.extractors
    assert all(book.origin[r.id].startswith("shared/rules/") for r in book.rules)


def test_broken_rule_names_file_line_rule_and_field(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        "rules:"
        + GOOD.format(id="ok.rule")
        + """
  - id: bad.rule
    category: model_eror
    severity: error
    title: "{nope}"
    match: {any: ['(?=lookahead)']}
    fix: f
""",
    )
    with pytest.raises(RulebookError) as caught:
        load_rulebook(tmp_path)
    problems = caught.value.problems
    assert any(
        p.startswith(f"{tmp_path / 'a.yaml'}:9: rule 'bad.rule': category: 'model_eror' is not")
        for p in problems
    ), problems
    assert any("rule 'bad.rule': match.any[0]: not valid RE2 syntax" in p for p in problems)


def test_template_naming_an_unknown_field_is_rejected(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        """rules:
  - id: t.x
    category: model_error
    severity: error
    title: "Module {module} missing"
    match: {any: ['No module named (?P<mod>\\w+)']}
    fix: f
""",
    )
    with pytest.raises(
        RulebookError, match=r"rule 't.x': \(the entry itself\): title: unknown field"
    ):
        load_rulebook(tmp_path)


def test_each_pattern_is_compiled_once_to_check_it_and_its_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking a pattern and checking the templates against its groups share one compile:
    loading the built-in rulebook is part of every cold start."""
    pattern = f"No module named (?P<module>\\w+) in {tmp_path.name}"
    write(
        tmp_path / "a.yaml",
        f"""rules:
  - id: t.x
    category: model_error
    severity: error
    title: "Module {{module}} missing"
    match: {{any: ['{pattern}']}}
    fix: Install {{module}}.
""",
    )
    seen: list[str] = []
    real = re2.compile

    def counting(text: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(re2, "compile", counting)
    [rule] = load_rulebook(tmp_path).rules
    assert rule.match.any == [pattern]
    assert seen.count(pattern) == 1


def test_duplicate_ids_across_files_and_bad_yaml(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "rules:" + GOOD.format(id="same.id"))
    write(tmp_path / "b.yaml", "rules:" + GOOD.format(id="same.id"))
    write(tmp_path / "c.yaml", "rules:\n  - id: [unclosed\n")
    with pytest.raises(RulebookError) as caught:
        load_rulebook(tmp_path)
    text = str(caught.value)
    assert "id 'same.id' is already used in" in text
    assert f"{tmp_path / 'c.yaml'}:3: not valid YAML" in text


def test_config_overrides_adds_and_disables_rules(tmp_path: Path) -> None:
    victim = builtin_rulebook().rules[0]
    config = write(
        tmp_path / "medic.yaml",
        "rules:"
        + GOOD.format(id="mine.new")
        + GOOD.format(id=victim.id).replace("title: t", "title: replaced")
        + "\nignore: []\n",
    )
    book = load_config(config).rulebook(str(config))
    by_id = {r.id: r for r in book.rules}
    assert by_id[victim.id].title == "replaced"
    assert book.origin["mine.new"] == str(config)
    disabled = write(
        tmp_path / "off.yaml",
        "rules:" + GOOD.format(id=victim.id) + "    enabled: false\n",
    )
    assert victim.id not in {r.id for r in load_config(disabled).rulebook("x").rules}


def test_config_check_reports_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "medic.yaml", "rules:\n  - id: x\n    severity: loud\nbogus: 1\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: rule 'x': severity:" in err
    assert f"{path}:2: rule 'x': category: Field required" in err
    assert f"{path}:4: bogus: Extra inputs are not permitted" in err
    good = write(tmp_path / "good.yaml", "rules:" + GOOD.format(id="mine.ok"))
    assert main(["config", "check", str(good)]) == 0
    assert "OK (1 rules" in capsys.readouterr().out


def test_config_that_is_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(write(tmp_path / "x.yaml", "- a\n- b\n"))


def test_rule_files_load_from_their_parsed_copy_while_it_is_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build writes a parsed copy of the built-in rule files, so a cold start parses no
    YAML; a file changed since is parsed from its YAML, so it is never out of date."""
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules / "a.yaml", "rules:" + GOOD.format(id="a.one"))
    write(rules / "b.yaml", "rules:" + GOOD.format(id="b.one"))
    write_parsed(rules)
    parsed_from_yaml: list[str] = []
    real = load_module.parse_yaml

    def parse(text: str, where: str) -> Any:
        parsed_from_yaml.append(Path(where).name)
        return real(text, where)

    monkeypatch.setattr(load_module, "parse_yaml", parse)
    assert [r.id for r in load_rulebook(rules).rules] == ["a.one", "b.one"]
    assert parsed_from_yaml == []
    write(rules / "b.yaml", "rules:" + GOOD.format(id="b.renamed"))
    assert [r.id for r in load_rulebook(rules).rules] == ["a.one", "b.renamed"]
    assert parsed_from_yaml == ["b.yaml"]


@pytest.mark.parametrize("copy", ["", "{not json", '{"format": 99, "files": {}}', "[]"])
def test_a_missing_or_unusable_copy_only_means_parsing_the_yaml(tmp_path: Path, copy: str) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules, ignore=shutil.ignore_patterns(NAME))
    if copy:
        (rules / NAME).write_text(copy)
    loaded, shipped = load_rulebook(rules), builtin_rulebook()
    assert (loaded.rules, loaded.ignore, loaded.extractors) == (
        shipped.rules,
        shipped.ignore,
        shipped.extractors,
    )
