"""The trigger form's params: derived from config.py's declarations, and the conf checks a
JSON schema cannot do."""

from __future__ import annotations

import re

import pytest

from deck2video import config
from deck2video.cli import build_parser
from deck2video.config import JobSettings
from deck2video.errors import InputError
from deck2video.params import (
    DECK_PATTERN,
    PARAMS,
    URL_PATTERN,
    check_conf,
    out_url_for,
    params_for,
    quality_from_params,
    settings_from_params,
    takes_for,
)
from deck2video.roots import Roots

GOOD_CONF = {"deck_url": "s3://decks/talk.pptx", "voice_url": "s3://decks/voice.m4a"}


def test_every_setting_param_has_its_declared_default_bounds_and_help():
    """One declaration: the form cannot drift from JobSettings (padding 0-5 in both, ...) nor
    from QualitySettings."""
    for name, declared, default in (*config.choosable(), *config.quality_choosable()):
        spec = PARAMS[name]
        assert spec["default"] == default, name
        assert (spec.get("minimum"), spec.get("maximum")) == (declared.minimum, declared.maximum)
        assert spec.get("enum") == (list(declared.choices) if declared.choices else None), name
        assert (spec["title"], spec["description"]) == (declared.title, declared.help), name


def test_the_cli_offers_every_setting_the_form_does():
    run = next(
        action for action in build_parser()._actions if getattr(action, "choices", None)
    ).choices["run"]
    flags = {opt for action in run._actions for opt in action.option_strings}
    for name, _, _ in (*config.choosable(), *config.quality_choosable()):
        assert f"--{name.replace('_', '-')}" in flags, name


@pytest.mark.parametrize(
    ("conf", "says"),
    [
        ({**GOOD_CONF, "resoluton": "1280x720"}, "unknown key(s) resoluton"),
        ({**GOOD_CONF, "out_url": "s3:///talk.mp4"}, "param out_url: "),
    ],
)
def test_check_conf_names_what_a_schema_cannot(conf, says):
    with pytest.raises(InputError, match=r"^[^\n]*$") as refused:
        check_conf(conf)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "s3://my-bucket/Team Decks/Q3 review.pptx",
        "s3://media.example/decks/Café Zürich.PPTX",
        "file:///srv/decks/talk..v2.pptx",
        "/home/anna/talk.pptx",
    ],
)
def test_ordinary_deck_locations_pass_the_schema(url):
    assert re.search(DECK_PATTERN, url)
    assert re.search(URL_PATTERN, url)
    check_conf({"deck_url": url})


def test_params_translate_to_job_settings():
    settings = settings_from_params(
        {**GOOD_CONF, "resolution": "1280x720", "speed": 1, "include_hidden": True}
    )
    assert (settings.width, settings.height, settings.speed, settings.include_hidden) == (
        1280,
        720,
        1.0,
        True,
    )
    assert out_url_for(GOOD_CONF) == "s3://decks/talk.mp4"
    assert out_url_for({**GOOD_CONF, "out_url": "/v/x.mp4"}) == "/v/x.mp4"


def test_quality_params_make_the_run_thresholds_and_leave_the_job_settings_alone():
    """Thresholds decide publishing, not the video: they are not part of the job id."""
    params = {**GOOD_CONF, "quality_mode": "fail", "min_dnsmos": 3, "max_wpm": None}
    thresholds = quality_from_params(params)
    assert (thresholds.quality_mode, thresholds.min_dnsmos) == ("fail", 3.0)
    assert thresholds.max_wpm == config.QualitySettings().max_wpm
    assert settings_from_params(params) == JobSettings()


def test_takes_name_narrated_slides_by_their_powerpoint_numbers():
    assert takes_for({"takes": {"4": 2}}, [1, 2, 4]) == {4: 2}
    assert takes_for({}, [1, 2, 4]) == {}
    with pytest.raises(InputError, match=r"^param takes: slide 3 is not narrated .*: 1, 2, 4\)$"):
        takes_for({"takes": {"3": 2}}, [1, 2, 4])  # hidden slide 3


def test_check_conf_refuses_locations_outside_the_roots_naming_field_and_roots():
    roots = Roots(read=("s3://decks/in/",), write=("s3://decks/videos/",))
    check_conf({**GOOD_CONF, "deck_url": "s3://decks/in/talk.pptx",
                "voice_url": "s3://decks/in/v.wav", "out_url": "s3://decks/videos/t.mp4"},
               roots)  # fmt: skip
    cases = {
        "voice_url": ({"voice_url": "/proc/self/environ"}, "allowed for reading (s3://decks/in/)"),
        "lexicon_url": ({"lexicon_url": "file:///etc/shadow"}, "allowed for reading"),
        "out_url": ({"out_url": "s3://other/talk.mp4"}, "allowed for writing (s3://decks/videos/)"),
    }
    for field, (change, says) in cases.items():
        conf = {"deck_url": "s3://decks/in/talk.pptx", "voice_url": "s3://decks/in/v.wav"}
        conf.setdefault("out_url", "s3://decks/videos/t.mp4")
        with pytest.raises(InputError, match=r"^[^\n]*$") as refused:
            check_conf({**conf, **change}, roots)
        assert str(refused.value).startswith(f"param {field} ")
        assert says in str(refused.value)
    # Without out_url the video goes next to the deck: that must be writable too.
    with pytest.raises(InputError, match=r"^param out_url s3://decks/in/talk.mp4: not under"):
        check_conf(
            {"deck_url": "s3://decks/in/talk.pptx", "voice_url": "s3://decks/in/v.wav"}, roots
        )


# --- issue 22: the form's patterns name the deployment's roots --------------------------------


ROOTS = Roots(read=("s3://decks/in/", "/srv/d 2/"), write=("s3://decks/out/",)).guarding(
    "s3://decks/in/d2v"
)


@pytest.mark.parametrize(
    ("name", "url", "accepted"),
    [
        ("deck_url", "s3://decks/in/talk.pptx", True),
        ("deck_url", "/srv/d 2/team/talk.PPTX", True),
        ("deck_url", "file:///srv/d 2/talk.pptx", True),
        ("deck_url", "file://localhost/srv/d 2/talk.pptx", True),
        ("deck_url", "s3://decks/other/talk.pptx", False),
        ("deck_url", "/srv/d/talk.pptx", False),
        ("deck_url", "/etc/talk.pptx", False),
        ("deck_url", "s3://decks/in/../x/talk.pptx", False),
        ("deck_url", "s3://decks/in/d2v/jobs/abc/input/deck.pptx", False),  # the store's own
        ("deck_url", "s3://decks/in/d2v/cache/x.pptx", False),
        ("voice_url", "s3://decks/in/anna.wav", True),
        ("voice_url", "/proc/self/environ", False),
        ("lexicon_url", "s3://decks/out/words.txt", False),  # a write root, not a read root
        ("out_url", "s3://decks/out/talk.mp4", True),
        ("out_url", "s3://decks/in/talk.mp4", False),
    ],
)
def test_each_locations_pattern_accepts_its_roots_only(name, url, accepted):
    spec = params_for(ROOTS)[name]
    assert bool(re.search(spec["pattern"], url)) is accepted
    assert check_roots(name, url) is accepted  # the pattern agrees with the one check


def check_roots(name: str, url: str) -> bool:
    try:
        if name == "out_url":
            ROOTS.check_write(name, url)
        else:
            ROOTS.check_read(name, url)
    except InputError:
        return False
    return True


def test_the_help_names_the_allowed_prefixes_and_unlimited_roots_keep_the_plain_patterns():
    found = params_for(ROOTS)
    assert found["deck_url"]["description"].endswith(
        "Allowed locations: s3://decks/in/, /srv/d 2/."
    )
    assert "s3://decks/out/" in found["out_url"]["description"]
    assert found["takes"] == PARAMS["takes"]
    assert params_for(Roots.anywhere()) == PARAMS
