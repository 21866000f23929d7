"""The form library: the shipped forms load, and every rule refuses a bad file by file and field."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from roi.consent.library import (
    PLACEHOLDERS,
    FormLibrary,
    FormLibraryError,
    TemplateKind,
)
from roi.errors import ConfigError, NotFound

FORMS = Path(__file__).resolve().parents[2] / "forms"
COMMON = ("revocation", "conditioning", "redisclosure", "electronic_signature")
VALUES = {"discloser_organization": "Maple Counseling", "recipient_name": "Dr. Robin Lee"}


# --- building files ----------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(value)


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for these files: scalars first, then arrays of tables."""
    lines: list[str] = []
    tables: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_value(value)}")
    for key, items in tables:
        for item in items:
            lines.append(f"\n[[{key}]]")
            lines.extend(f"{k} = {_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def statement(code: str, text: str = "Plain words for {recipient_name}.") -> dict[str, Any]:
    return {"code": code, "heading": code.replace("_", " ").title(), "text": text}


def valid(kind: str = "general") -> dict[str, Any]:
    """A minimal file that passes every rule for its kind."""
    if kind == "psychotherapy_notes":
        categories = [
            {
                "code": "psychotherapy_notes",
                "label": "Psychotherapy notes",
                "explanation": "Your therapist's private session notes.",
                "psychotherapy_notes": True,
            }
        ]
    elif kind == "part2":
        categories = [
            {
                "code": "sud_treatment",
                "label": "Substance use treatment",
                "explanation": "That you get treatment for substance use.",
                "substance_use_disorder": True,
            }
        ]
    else:
        categories = [
            {"code": "diagnosis", "label": "Diagnosis", "explanation": "Your diagnosis."},
            {"code": "medications", "label": "Medications", "explanation": "Your medicines."},
            {"code": "hiv", "label": "HIV", "explanation": "HIV information.", "hiv": True},
        ]
    statements = [
        statement("revocation", "You can cancel in writing. {how_to_revoke}"),
        statement("conditioning"),
        statement("redisclosure"),
        statement("electronic_signature"),
    ]
    if kind == "part2":
        statements.append(statement("part2_notice", "This record ... (42 CFR part 2)."))
    return {
        "id": f"test-{kind.replace('_', '-')}",
        "version": 1,
        "kind": kind,
        "title": f"Test {kind} form",
        "introduction": "This form lets {discloser_organization} share with {recipient_name}.",
        "how_to_revoke": "Write to {discloser_organization}.",
        "expiry_events": ["the end of your treatment with {discloser_organization}"],
        "categories": categories,
        "purposes": [
            {"code": "treatment", "label": "Treatment"},
            {"code": "at_request_of_individual", "label": "Because you asked"},
        ],
        "statements": statements,
    }


def write(folder: Path, data: dict[str, Any], name: str = "form.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def refusal(folder: Path) -> str:
    """The one-line message FormLibrary.load stops with."""
    with pytest.raises(FormLibraryError) as caught:
        FormLibrary.load(folder)
    message = str(caught.value)
    assert "\n" not in message
    return message


def assert_names(message: str, path: Path, field: str) -> None:
    """The message starts with the file and the field, as an operator would look them up."""
    assert message.startswith(f"{path}: {field}: "), message


# --- the shipped forms -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> FormLibrary:
    return FormLibrary.load(FORMS)


def test_shipped_forms_load_with_one_of_each_kind(shipped):
    # Given the forms/ folder in the repository
    # When it is loaded
    kinds = sorted(t.kind for t in shipped.all())
    # Then there is exactly one template of each kind
    assert kinds == sorted(TemplateKind)


def test_shipped_forms_offer_the_agreed_codes(shipped):
    general = shipped.get("general-authorization")
    assert [c.code for c in general.categories] == [
        "diagnosis",
        "assessments",
        "medications",
        "treatment_plan",
        "attendance",
        "crisis_safety",
        "hiv",
        "genetic",
    ]
    assert general.category("hiv").hiv
    assert general.category("genetic").genetic
    assert [p.code for p in general.purposes] == [
        "treatment",
        "care_coordination",
        "medication_management",
        "at_request_of_individual",
        "insurance_or_benefits",
        "legal_matter",
    ]
    notes = shipped.get("psychotherapy-notes")
    assert [c.code for c in notes.categories] == ["psychotherapy_notes"]
    assert notes.category("psychotherapy_notes").psychotherapy_notes
    part2 = shipped.get("part2-consent")
    assert part2.categories
    assert all(c.substance_use_disorder for c in part2.categories)
    assert "sud_treatment" in {c.code for c in part2.categories}


def test_shipped_forms_carry_every_required_statement(shipped):
    for template in shipped.all():
        codes = {s.code for s in template.statements}
        assert set(COMMON) <= codes, template.id
        assert ("part2_notice" in codes) == (template.kind is TemplateKind.PART2), template.id


def test_part2_notice_is_the_2024_statement(shipped):
    notice = shipped.get("part2-consent").statement("part2_notice").text
    assert notice.startswith(
        "This record which has been disclosed to you is protected by Federal confidentiality "
        "rules (42 CFR part 2). These rules prohibit you from using or disclosing this record, "
        "or testimony that describes the information contained in this record, in any civil, "
        "criminal, administrative, or legislative proceedings"
    )
    assert "You are a covered entity or business associate" in notice
    assert notice.endswith(
        "A general authorization for the release of medical or other information is NOT "
        "sufficient to meet the required elements of written consent to further use or "
        "redisclose the record (see 42 CFR 2.31)."
    )


def test_shipped_texts_fill_completely(shipped):
    # Given every text a client can see on any shipped form
    for template in shipped.all():
        texts = [template.title, template.introduction, template.how_to_revoke]
        texts += list(template.expiry_events)
        texts += [c.label for c in template.categories]
        texts += [c.explanation for c in template.categories]
        texts += [p.label for p in template.purposes]
        # When the placeholders are filled
        filled = [template.fill(text, **VALUES) for text in texts]
        filled += [part for pair in template.statement_texts(**VALUES) for part in pair]
        # Then no brace is left for the client to see
        for text in filled:
            assert not re.search(r"[{}]", text), (template.id, text)


def test_shipped_revocation_says_how(shipped):
    for template in shipped.all():
        revocation = dict(template.statement_texts(**VALUES))[
            template.statement("revocation").heading
        ]
        assert "in writing" in revocation
        assert "Maple Counseling" in revocation  # from how_to_revoke, itself filled
        assert "already" in revocation  # the exception for action taken in reliance


# --- every rule refuses a bad file --------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["id", "version", "kind", "title", "introduction", "how_to_revoke"]
)
def test_missing_required_field_is_refused(tmp_path, field):
    data = valid()
    del data[field]
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, field)
    assert "required" in message


@pytest.mark.parametrize("field", ["categories", "purposes"])
def test_missing_or_empty_list_is_refused(tmp_path, field):
    data = valid()
    del data[field]
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, field)
    data[field] = []
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, field)


@pytest.mark.parametrize(
    ("field", "set_blank"),
    [
        ("id", lambda d: d.update(id="  ")),
        ("title", lambda d: d.update(title="")),
        ("introduction", lambda d: d.update(introduction=" \n\n ")),
        ("how_to_revoke", lambda d: d.update(how_to_revoke="\t")),
        ("categories[1].label", lambda d: d["categories"][1].update(label=" ")),
        ("categories[0].explanation", lambda d: d["categories"][0].update(explanation="")),
        ("purposes[1].label", lambda d: d["purposes"][1].update(label="")),
        ("statements[2].text", lambda d: d["statements"][2].update(text="   ")),
        ("statements[3].heading", lambda d: d["statements"][3].update(heading="")),
        ("expiry_events[0]", lambda d: d.update(expiry_events=[" "])),
    ],
)
def test_blank_field_is_refused(tmp_path, field, set_blank):
    data = valid()
    set_blank(data)
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, field)
    assert "blank" in message


@pytest.mark.parametrize("version", [0, -1, "1", True])
def test_version_must_be_a_whole_number_from_one(tmp_path, version):
    data = valid()
    data["version"] = version
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "version")


def test_unknown_kind_is_refused(tmp_path):
    data = valid()
    data["kind"] = "hipaa"
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "kind")
    assert '"hipaa"' in message
    assert "part2" in message


@pytest.mark.parametrize("template_id", ["General-Authorization", "general_authorization", "g"])
def test_bad_id_is_refused(tmp_path, template_id):
    data = valid()
    data["id"] = template_id
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "id")


@pytest.mark.parametrize(
    "code", ["Diagnosis", "d", "1diagnosis", "has-dash", "has space", "a" * 42, " diagnosis"]
)
def test_code_must_be_lower_snake_case(tmp_path, code):
    data = valid()
    data["categories"][2]["code"] = code
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "categories[2].code")
    assert "lower_snake_case" in message


def test_the_message_reads_as_documented(tmp_path):
    # Given the example from the brief
    data = valid()
    data["categories"][2]["code"] = "Diagnosis"
    path = write(tmp_path, data, "general-authorization.toml")
    # Then the message is the file, the field, the value and the rule on one line
    assert refusal(tmp_path) == (
        f'{path}: categories[2].code: "Diagnosis" must be lower_snake_case, 2-41 characters'
    )


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (lambda d: d["purposes"][0], "purposes[0].code"),
        (lambda d: d["statements"][1], "statements[1].code"),
    ],
)
def test_other_codes_are_checked_too(tmp_path, where, field):
    data = valid()
    where(data)["code"] = "Bad-Code"
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, field)


@pytest.mark.parametrize(
    ("name", "copy_index", "field"),
    [
        ("categories", 0, "categories[3].code"),
        ("purposes", 1, "purposes[2].code"),
        ("statements", 0, "statements[4].code"),
    ],
)
def test_duplicate_codes_are_refused(tmp_path, name, copy_index, field):
    data = valid()
    data[name].append(copy.deepcopy(data[name][copy_index]))
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, field)
    assert f"already used by {name}[{copy_index}]" in message


@pytest.mark.parametrize(
    ("field", "put"),
    [
        ("introduction", lambda d, t: d.update(introduction=t)),
        ("how_to_revoke", lambda d, t: d.update(how_to_revoke=t)),
        ("title", lambda d, t: d.update(title=t)),
        ("expiry_events[0]", lambda d, t: d.update(expiry_events=[t])),
        ("categories[1].explanation", lambda d, t: d["categories"][1].update(explanation=t)),
        ("categories[0].label", lambda d, t: d["categories"][0].update(label=t)),
        ("purposes[0].label", lambda d, t: d["purposes"][0].update(label=t)),
        ("statements[1].heading", lambda d, t: d["statements"][1].update(heading=t)),
        ("statements[2].text", lambda d, t: d["statements"][2].update(text=t)),
    ],
)
def test_unknown_placeholder_is_refused_in_any_text(tmp_path, field, put):
    data = valid()
    put(data, "Shared with {recipient} today.")
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, field)
    assert "unknown placeholder {recipient}" in message


@pytest.mark.parametrize(
    "text", ["{recipient_name", "name}", "{}", "{0}", "{recipient_name!r}", "{recipient_name:>9}"]
)
def test_malformed_placeholder_is_refused(tmp_path, text):
    data = valid()
    data["statements"][1]["text"] = f"Careful {text} here."
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "statements[1].text")


def test_how_to_revoke_may_not_refer_to_itself(tmp_path):
    data = valid()
    data["how_to_revoke"] = "See {how_to_revoke}."
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "how_to_revoke")


def test_literal_braces_are_written_doubled(tmp_path):
    data = valid()
    data["statements"][1]["text"] = "Use {{braces}} for {recipient_name}."
    write(tmp_path, data)
    template = FormLibrary.load(tmp_path).get(data["id"])
    assert dict(template.statement_texts(**VALUES))["Conditioning"] == (
        "Use {braces} for Dr. Robin Lee."
    )


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (lambda d: d, "titel"),
        (lambda d: d["categories"][1], "categories[1].explenation"),
        (lambda d: d["purposes"][0], "purposes[0].description"),
        (lambda d: d["statements"][2], "statements[2].body"),
    ],
)
def test_unknown_key_is_refused(tmp_path, where, field):
    data = valid()
    where(data)[field.rsplit(".", 1)[-1]] = "typo"
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, field)
    assert "unknown key" in message


def test_flag_must_be_true_or_false(tmp_path):
    data = valid()
    data["categories"][2]["hiv"] = "yes"
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "categories[2].hiv")


@pytest.mark.parametrize(
    ("value", "field"),
    [("diagnosis", "categories"), (["diagnosis"], "categories[0]")],
)
def test_categories_must_be_tables(tmp_path, value, field):
    data = valid()
    data["categories"] = value
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, field)


def test_expiry_events_must_be_a_list(tmp_path):
    data = valid()
    data["expiry_events"] = "the end of treatment"
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "expiry_events")


@pytest.mark.parametrize("kind", list(TemplateKind))
@pytest.mark.parametrize("code", COMMON)
def test_every_kind_needs_the_common_statements(tmp_path, kind, code):
    data = valid(kind)
    data["statements"] = [s for s in data["statements"] if s["code"] != code]
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "statements")
    assert f'"{code}"' in message
    assert "164.508" in message or "ESIGN" in message


def test_part2_needs_the_notice(tmp_path):
    data = valid("part2")
    data["statements"] = [s for s in data["statements"] if s["code"] != "part2_notice"]
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "statements")
    assert '"part2_notice"' in message
    assert "2.32" in message


def test_revocation_must_say_how(tmp_path):
    data = valid()
    data["statements"][0]["text"] = "You can cancel in writing at any time."
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "statements[0].text")
    assert "{how_to_revoke}" in message


def test_part2_needs_a_substance_use_category(tmp_path):
    data = valid("part2")
    data["categories"][0]["substance_use_disorder"] = False
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "categories")
    assert "substance_use_disorder" in message


def test_psychotherapy_notes_form_offers_nothing_else(tmp_path):
    # 164.508(b)(3)(ii)
    data = valid("psychotherapy_notes")
    data["categories"].append(
        {"code": "diagnosis", "label": "Diagnosis", "explanation": "Your diagnosis."}
    )
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "categories")
    assert "164.508(b)(3)(ii)" in message


def test_psychotherapy_notes_form_needs_the_flag(tmp_path):
    data = valid("psychotherapy_notes")
    data["categories"][0]["psychotherapy_notes"] = False
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "categories")


@pytest.mark.parametrize("kind", ["general", "part2"])
def test_psychotherapy_notes_only_on_their_own_form(tmp_path, kind):
    data = valid(kind)
    data["categories"].append(
        {
            "code": "psychotherapy_notes",
            "label": "Psychotherapy notes",
            "explanation": "Private session notes.",
            "psychotherapy_notes": True,
        }
    )
    path = write(tmp_path, data)
    index = len(data["categories"]) - 1
    message = refusal(tmp_path)
    assert_names(message, path, f"categories[{index}].psychotherapy_notes")
    assert "164.508(b)(3)(ii)" in message


def test_general_form_may_not_offer_substance_use_records(tmp_path):
    data = valid()
    data["categories"][1]["substance_use_disorder"] = True
    path = write(tmp_path, data)
    message = refusal(tmp_path)
    assert_names(message, path, "categories[1].substance_use_disorder")
    assert "part2" in message


def test_duplicate_id_and_version_across_files_is_refused(tmp_path):
    # Given two files that both claim test-general version 1
    first = write(tmp_path, valid(), "a.toml")
    second = write(tmp_path, valid(), "b.toml")
    # Then the second is refused, and the message points at the first
    message = refusal(tmp_path)
    assert_names(message, second, "version")
    assert str(first) in message


def test_a_template_keeps_its_kind_across_versions(tmp_path):
    write(tmp_path, valid(), "a.toml")
    data = valid("part2")
    data.update(id="test-general", version=2)
    second = write(tmp_path, data, "b.toml")
    assert_names(refusal(tmp_path), second, "kind")


def test_invalid_toml_names_the_file(tmp_path):
    tmp_path.joinpath("broken.toml").write_text('id = "x"\ntitle = \n', encoding="utf-8")
    message = refusal(tmp_path)
    assert message.startswith(f"{tmp_path / 'broken.toml'}: not valid TOML")
    assert "line 2" in message


def test_non_utf8_file_is_refused(tmp_path):
    tmp_path.joinpath("latin1.toml").write_bytes('title = "Résumé"\n'.encode("latin-1"))
    assert "not UTF-8" in refusal(tmp_path)


def test_empty_or_missing_folder_is_refused(tmp_path):
    assert "no *.toml" in refusal(tmp_path)
    assert "not found" in refusal(tmp_path / "missing")


def test_first_bad_file_stops_the_load_even_among_good_ones(tmp_path):
    write(tmp_path, valid(), "a.toml")
    bad = valid("part2")
    del bad["title"]
    path = write(tmp_path, bad, "b.toml")
    assert_names(refusal(tmp_path), path, "title")


def test_error_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        FormLibrary.load(tmp_path)


# --- looking templates up -----------------------------------------------------------------------


@pytest.fixture
def versions(tmp_path) -> FormLibrary:
    """test-general in versions 1, 3 and 2 (files in that order), and a psychotherapy-notes form."""
    for version, title in ((1, "Sharing v1"), (3, "Sharing v3"), (2, "Sharing v2")):
        data = valid()
        data.update(version=version, title=title)
        write(tmp_path, data, f"general-v{version}.toml")
    notes = valid("psychotherapy_notes")
    notes["title"] = "Notes"
    write(tmp_path, notes, "notes.toml")
    return FormLibrary.load(tmp_path)


def test_get_returns_the_latest_version(versions):
    assert versions.get("test-general").version == 3
    assert versions.get("test-general").title == "Sharing v3"


def test_get_returns_a_specific_version(versions):
    template = versions.get("test-general", 1)
    assert (template.version, template.title) == (1, "Sharing v1")
    assert template.source.endswith("general-v1.toml")


@pytest.mark.parametrize(("template_id", "version"), [("nope", None), ("test-general", 9)])
def test_unknown_template_is_not_found(versions, template_id, version):
    with pytest.raises(NotFound, match="No such form template"):
        versions.get(template_id, version)


def test_all_lists_the_latest_of_each_sorted_by_title(versions):
    assert [(t.title, t.version) for t in versions.all()] == [("Notes", 1), ("Sharing v3", 3)]


def test_lookups_by_code(versions):
    template = versions.get("test-general")
    assert template.category("hiv").hiv is True
    assert template.category("diagnosis").psychotherapy_notes is False
    assert template.purpose("treatment").label == "Treatment"
    assert template.statement("revocation").heading == "Revocation"
    for lookup in (template.category, template.purpose, template.statement):
        with pytest.raises(KeyError):
            lookup("nope")


# --- filling placeholders -----------------------------------------------------------------------


def test_statement_texts_fill_placeholders_in_display_order(versions):
    template = versions.get("test-general")
    texts = template.statement_texts(**VALUES)
    assert [heading for heading, _ in texts] == [
        "Revocation",
        "Conditioning",
        "Redisclosure",
        "Electronic Signature",
    ]
    # how_to_revoke defaults to the template's own, with its placeholder filled too
    assert texts[0][1] == "You can cancel in writing. Write to Maple Counseling."
    assert texts[1][1] == "Plain words for Dr. Robin Lee."


def test_given_how_to_revoke_is_filled_too(versions):
    template = versions.get("test-general")
    texts = template.statement_texts(**VALUES, how_to_revoke=template.how_to_revoke)
    assert texts[0][1] == "You can cancel in writing. Write to Maple Counseling."
    texts = template.statement_texts(**VALUES, how_to_revoke="Call us.")
    assert texts[0][1] == "You can cancel in writing. Call us."


def test_fill_works_on_any_text_and_does_not_expand_values(versions):
    template = versions.get("test-general")
    assert template.fill(template.expiry_events[0], **VALUES) == (
        "the end of your treatment with Maple Counseling"
    )
    # a value that looks like a placeholder is shown as written, never expanded
    odd = {**VALUES, "recipient_name": "{discloser_organization}"}
    assert template.fill(template.introduction, **odd) == (
        "This form lets Maple Counseling share with {discloser_organization}."
    )


def test_fill_refuses_unknown_and_missing_values(versions):
    template = versions.get("test-general")
    with pytest.raises(TypeError, match="recipient"):
        template.statement_texts(**VALUES, recipient="x")
    with pytest.raises(ValueError, match="recipient_name"):
        template.statement_texts(discloser_organization="Maple Counseling")
    assert set(VALUES) | {"how_to_revoke"} == PLACEHOLDERS
    # a text that does not need how_to_revoke fills without the values how_to_revoke needs
    assert template.fill("To {recipient_name}.", recipient_name="Dr. Lee") == "To Dr. Lee."
    with pytest.raises(ValueError, match="how_to_revoke"):
        template.fill("{how_to_revoke}", recipient_name="Dr. Lee")


def test_wrapped_lines_join_and_paragraphs_stay(tmp_path):
    data = valid()
    data["introduction"] = "\nFirst line\nwraps here.\n\n  Second   paragraph.\n"
    data["title"] = "A  title\non two lines"
    write(tmp_path, data)
    template = FormLibrary.load(tmp_path).get("test-general")
    assert template.introduction == "First line wraps here.\n\nSecond paragraph."
    assert template.title == "A title on two lines"
    assert re.fullmatch(r"[^\n]+", template.title)


# --- the Spanish text beside the English ------------------------------------------------------

#: text that is the same in both languages: ids, codes, flags, versions
NOT_PROSE = {"id", "kind", "code", "version", "psychotherapy_notes", "substance_use_disorder"}


def _prose_pairs(table: dict[str, Any], where: str) -> list[tuple[str, Any, Any]]:
    pairs = []
    for key, value in table.items():
        if key in NOT_PROSE or key.endswith("_es") or isinstance(value, bool):
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                pairs += _prose_pairs(item, f"{where}{key}[{i}].")
        else:
            pairs.append((f"{where}{key}", value, table.get(f"{key}_es")))
    return pairs


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.toml")), ids=lambda p: p.name)
def test_every_english_text_of_a_shipped_form_has_its_spanish_with_the_same_placeholders(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data.get("version_es"), int)
    for field, english, spanish in _prose_pairs(data, ""):
        assert spanish, f"{path.name}: {field} has no {field}_es"
        english_texts = english if isinstance(english, list) else [english]
        spanish_texts = spanish if isinstance(spanish, list) else [spanish]
        assert len(english_texts) == len(spanish_texts), field
        for a, b in zip(english_texts, spanish_texts, strict=True):
            assert set(re.findall(r"\{(\w+)\}", a)) == set(re.findall(r"\{(\w+)\}", b)), field
            assert a != b, f"{field} is not translated"


def test_a_shipped_form_reads_in_spanish_with_the_2_32_notice_in_english_beside_it(shipped):
    part2 = shipped.get("part2-consent").in_language("es")
    assert (part2.language, part2.language_version) == ("es", 1)
    assert part2.title.startswith("Autorización para compartir")
    revocation = dict(part2.statement_texts(**VALUES))[part2.statement("revocation").heading]
    assert "por escrito" in revocation
    assert "Maple Counseling" in revocation
    originals = part2.statement_originals(**VALUES)
    notice_at = [s.code for s in part2.statements].index("part2_notice")
    assert originals[notice_at] == shipped.get("part2-consent").statement("part2_notice").text
    assert part2.statement("part2_notice").text.startswith("Este expediente que se le ha divulgado")
    assert [o for i, o in enumerate(originals) if i != notice_at] == [None] * (len(originals) - 1)
    # the same codes and flags: a consent's choices mean the same in either language
    english = shipped.get("part2-consent")
    assert [c.code for c in part2.categories] == [c.code for c in english.categories]
    assert shipped.get("general-authorization").in_language("fr").language == "en"


_PROSE_KEYS = {
    "title",
    "introduction",
    "how_to_revoke",
    "expiry_events",
    "label",
    "explanation",
    "heading",
    "text",
}


def spanish(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with a Spanish text beside every English one (the English marked "ES:")."""
    data = copy.deepcopy(data)
    data["version_es"] = 1
    for table in [data, *data["categories"], *data["purposes"], *data["statements"]]:
        for key in [k for k, v in table.items() if k in _PROSE_KEYS]:
            value = table[key]
            table[f"{key}_es"] = (
                [f"ES: {v}" for v in value] if isinstance(value, list) else f"ES: {value}"
            )
    return data


def test_a_complete_spanish_text_loads(tmp_path):
    write(tmp_path, spanish(valid("part2")))
    template = FormLibrary.load(tmp_path).get("test-part2").in_language("es")
    assert template.title == "ES: Test part2 form"
    assert template.statement("part2_notice").english == "This record ... (42 CFR part 2)."


def test_a_missing_spanish_text_is_refused(tmp_path):
    data = spanish(valid())
    del data["statements"][1]["text_es"]
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "statements[1].text_es")


def test_spanish_text_needs_its_own_version(tmp_path):
    data = spanish(valid())
    del data["version_es"]
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "version_es")


def test_spanish_placeholders_must_match_the_english(tmp_path):
    data = spanish(valid())
    data["introduction_es"] = "Este formulario permite que {discloser_organization} comparta."
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "introduction_es")


def test_spanish_revocation_must_say_how_too(tmp_path):
    data = spanish(valid())
    data["statements"][0]["text_es"] = "Puede cancelar por escrito."
    path = write(tmp_path, data)
    assert_names(refusal(tmp_path), path, "statements[0].text_es")


def test_the_library_lists_categories_and_purposes_in_spanish(shipped):
    spanish = {c.code: c for c in shipped.categories("es")}
    assert spanish["hiv"].label == "Información relacionada con el VIH"
    assert spanish["hiv"].hiv
    assert spanish["sud_treatment"].substance_use_disorder
    assert [c.code for c in shipped.categories("es")] != [c.code for c in shipped.categories()]
    assert {p.label for p in shipped.purposes("es")} >= {"Porque usted lo pidió"}
    assert shipped.categories("fr") == shipped.categories()
