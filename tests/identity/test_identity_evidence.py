"""Identity numbers and the parents' names as evidence (docs/identity.md).

A model is trained, unsupervised, on a synthetic Moroccan registry with duplicates; then
one registered person is compared with copies of their record that differ only in the
evidence under test, as a second registration in another commune would be.
"""

from __future__ import annotations

import polars as pl
import pytest
from django.utils import translation

from sijill.identity import explain, frame, linkage
from sijill.identity.dedupe import REVIEW_THRESHOLD
from sijill.synth import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, linkage.LinkageModel]:
    out = tmp_path_factory.mktemp("evidence")
    generate("ma", 3000, 5, out, duplicate_rate=0.05)
    raw = frame.from_import_files(out / "persons.csv", out / "households.csv", "ma")
    persons = frame.canonical(raw, "ma")
    return raw, linkage.train(persons)


def _probe_scores(
    raw: pl.DataFrame, model: linkage.LinkageModel, **variants: dict[str, str | None]
) -> dict[str, float]:
    """Score a registered adult (with a CNIE, both parents named) against copies of the
    record, moved to another commune, without phone, each changed as ``variants`` say."""
    person = raw.filter(
        pl.col("id_1").is_not_null()
        & pl.col("father_name_lat").is_not_null()
        & pl.col("mother_name_lat").is_not_null()
        & (pl.col("birth_date").str.len_chars() == 10)
    ).row(0, named=True)
    probes = pl.DataFrame(
        [
            {
                **person,
                "unique_id": name,
                "external_ref": name,
                "household_id": f"H-{name}",
                "commune": "MA-PROBE",
                "phone": None,
                "id_2": None,
                **changes,
            }
            for name, changes in variants.items()
        ],
        schema=raw.schema,
    )
    # against the whole registry, so that term frequencies are the registry's
    pairs = linkage.link_new(frame.canonical(raw, "ma"), frame.canonical(probes, "ma"), model, threshold=0.0)
    mine = pairs.filter(pl.col("unique_id_l") == person["unique_id"])
    return dict(mine.select("unique_id_r", "match_probability").rows())


def test_two_numbers_of_one_card_point_to_two_persons_and_a_mistyped_one_to_one(
    registry: tuple[pl.DataFrame, linkage.LinkageModel],
) -> None:
    raw, model = registry
    cnie = raw.filter(pl.col("id_1").is_not_null())["id_1"][0]
    mistyped = cnie[:-1] + ("1" if cnie[-1] != "1" else "2")
    unnamed = {
        "father_name_lat": None,
        "father_name_ar": None,
        "mother_name_lat": None,
        "mother_name_ar": None,
    }
    s = _probe_scores(
        raw,
        model,
        none={**unnamed, "id_1": None},
        mistyped={**unnamed, "id_1": mistyped},
        other={**unnamed, "id_1": "ZZ999999"},
    )
    assert s["mistyped"] > s["none"] > s["other"], s
    # the same name and date of birth are queued for review; with another CNIE number, not
    assert s["none"] >= REVIEW_THRESHOLD > s["other"], s


def test_the_same_parents_make_a_namesake_a_duplicate_and_other_parents_a_namesake(
    registry: tuple[pl.DataFrame, linkage.LinkageModel],
) -> None:
    raw, model = registry
    s = _probe_scores(
        raw,
        model,
        unnamed={
            "id_1": None,
            "father_name_lat": None,
            "father_name_ar": None,
            "mother_name_lat": None,
            "mother_name_ar": None,
        },
        same={"id_1": None},
        one_unnamed={"id_1": None, "mother_name_lat": None, "mother_name_ar": None},
        other={
            "id_1": None,
            "father_name_lat": "Zakaria",
            "father_name_ar": "زكرياء",
            "mother_name_lat": "Rachida",
            "mother_name_ar": "رشيدة",
        },
    )
    assert s["same"] > s["one_unnamed"] > s["unnamed"] > s["other"], s


def test_a_parent_written_only_in_arabic_is_compared_through_its_romanisation() -> None:
    df = pl.DataFrame(
        {
            "father_name_lat": ["Mohammed", None],
            "father_name_ar": [None, "محمد"],
            "mother_name_lat": ["Fatima", "Fatema"],
            "mother_name_ar": [None, None],
        }
    )
    keys = frame.parent_keys(df, "ma")
    assert keys["father_key"][0] == keys["father_key"][1]
    assert keys["mother_key"][0] == keys["mother_key"][1]
    assert keys["parents_key"][0] == keys["parents_key"][1] is not None


def test_the_reviewer_reads_the_new_evidence_in_words() -> None:
    with translation.override("en"):
        words = {
            w.comparison: w for w in explain.levels_in_words({"levels": {"identifier": 1, "parents": 0}})
        }
    assert words["identifier"].evidence == explain.FOR and "typing error" in words["identifier"].text
    assert words["parents"].evidence == explain.AGAINST and words["parents"].text == "different parents"
