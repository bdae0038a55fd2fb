"""`bothy kb check` and `bothy kb test` tell an admin plainly what is wrong with the folders they name."""

import pytest

from bothy.cli import main


@pytest.mark.parametrize("command", [["check"], ["test", "I want to die"]])
def test_a_missing_folder_is_named_plainly(command, tmp_path, capsys):
    missing = tmp_path / "our-services"
    assert main(["kb", command[0], "--dir", str(missing), *command[1:]]) == 1
    assert f"{missing}: no such folder" in capsys.readouterr().err


def test_a_file_given_as_a_folder_is_named_too(tmp_path, capsys):
    (tmp_path / "crisis.yaml").write_text("id: x")
    assert main(["kb", "check", "--dir", str(tmp_path / "crisis.yaml")]) == 1
    assert f"{tmp_path / 'crisis.yaml'}: is a file, not a folder of topic files" in capsys.readouterr().err


def test_kb_check_fails_a_knowledge_base_bothy_would_refuse_to_run_with(tmp_path, capsys):
    assert main(["kb", "check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"no crisis-tier topic in {tmp_path}" in err and "bothy run would refuse to start" in err


@pytest.mark.parametrize("command", [["check"], ["test", "hello"]])
def test_a_config_that_is_not_there_is_named_not_replaced_by_the_shipped_kb(command, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    assert main(["kb", command[0], "--config", str(config), *command[1:]]) == 2
    captured = capsys.readouterr()
    assert str(config) in captured.err and "No such file" in captured.err
    assert not captured.out


def test_without_any_config_the_shipped_kb_is_checked(tmp_path, monkeypatch, capsys):
    from referral_kb import SHIPPED_KB

    monkeypatch.chdir(tmp_path)  # no config.yaml here
    assert main(["kb", "check"]) == 0
    assert str(SHIPPED_KB) in capsys.readouterr().out
