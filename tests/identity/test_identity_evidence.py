"""Identity numbers and the parents' names as evidence (docs/identity.md).

A model is trained, unsupervised, on a synthetic Moroccan registry with duplicates; then
one registered person is compared with copies of their record that differ only in the
evidence under test, as a second registration in another commune would be.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from django.utils import translation

from sijill.identity import explain, frame, linkage
from sijill.identity.dedupe import AUTO_LINK_THRESHOLD, REVIEW_THRESHOLD
from sijill.synth import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evidence")
    generate("ma", 3000, 5, out, duplicate_rate=0.05)
    return out


@pytest.fixture(scope="module")
def registry(registry_files: Path) -> tuple[pl.DataFrame, linkage.LinkageModel]:
    out = registry_files
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
    # the same name and date of birth are linked as one person; with another CNIE number,
    # never without a reviewer
    assert s["none"] >= AUTO_LINK_THRESHOLD > s["other"], s


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


def test_twins_are_not_paired_but_one_person_entered_twice_in_a_household_is(
    registry: tuple[pl.DataFrame, linkage.LinkageModel],
) -> None:
    """Twins share the date of birth, the family name, the parents and the commune; a
    household declares them under two given names, so they are not a candidate pair. The
    same person entered twice in one household is one, and the co-members (which two
    members of one household share by construction) say nothing about it."""
    raw, model = registry
    person = raw.filter(
        (pl.col("birth_date").str.len_chars() == 10) & ~pl.col("given_name_lat").str.starts_with("Z")
    ).row(0, named=True)
    probes = pl.DataFrame(
        [
            {**person, "unique_id": "twin", "external_ref": "twin", "given_name_lat": "Zakaria",
             "given_name_ar": "زكرياء", "id_1": None, "id_2": None},
            {**person, "unique_id": "again", "external_ref": "again", "id_1": None, "id_2": None},
        ],
        schema=raw.schema,
    )  # fmt: skip
    persons = frame.canonical(pl.concat([raw, probes]), "ma")
    pairs = linkage.predict(persons, model, threshold=0.0).filter(
        pl.col("unique_id_l").is_in([person["unique_id"], "twin", "again"])
        & pl.col("unique_id_r").is_in([person["unique_id"], "twin", "again"])
    )
    found = {frozenset((a, b)): row for a, b, row in zip(pairs["unique_id_l"], pairs["unique_id_r"],
                                                          pairs.iter_rows(named=True), strict=True)}  # fmt: skip
    assert frozenset((person["unique_id"], "twin")) not in found
    assert frozenset(("twin", "again")) not in found
    again = found[frozenset((person["unique_id"], "again"))]
    assert again["match_probability"] >= REVIEW_THRESHOLD
    assert again["gamma_co_members"] == -1  # nothing said within one household
    with translation.override("en"):
        (words,) = explain.levels_in_words({"levels": {"co_members": again["gamma_co_members"]}})
    assert words.evidence == explain.NEUTRAL and "same household" in words.text


def test_how_one_person_s_records_disagree_is_counted_on_pairs_sharing_an_identity_number(
    registry: tuple[pl.DataFrame, linkage.LinkageModel], registry_files: Path
) -> None:
    """The m of the date of birth and of the parents come from the registry: pairs whose
    identity numbers are at most two characters apart and whose given names agree are taken
    as one person, and their disagreements counted. On the generator's duplicates, the
    share of true pairs with the same full date of birth is what the model learnt."""
    raw, model = registry
    assert model.anchor_pairs >= model.spec.anchor_min_pairs
    date = next(c for c in model.settings["comparisons"] if c["output_column_name"] == "birth_date")
    levels = [lvl for lvl in date["comparison_levels"] if not lvl.get("is_null_level")]
    assert all(lvl["fix_m_probability"] for lvl in levels)
    assert [lvl["m_probability"] for lvl in levels] != list(linkage.REGISTRY_DATE_M)

    truth = pl.read_csv(registry_files / "duplicates_truth.csv", infer_schema_length=0)
    dates = raw.select(pl.col("external_ref"), pl.col("birth_date"))
    both = truth.join(
        dates.rename({"external_ref": "person_ref_a", "birth_date": "a"}), on="person_ref_a"
    ).join(dates.rename({"external_ref": "person_ref_b", "birth_date": "b"}), on="person_ref_b")
    same_full_date = both.select(
        ((pl.col("a") == pl.col("b")) & (pl.col("a").str.len_chars() == 10)).mean()
    ).item()
    assert abs(levels[0]["m_probability"] - same_full_date) < 0.05, (
        levels[0]["m_probability"],
        same_full_date,
    )


def test_a_registry_without_enough_identity_numbers_keeps_the_field_error_profile(
    registry: tuple[pl.DataFrame, linkage.LinkageModel],
) -> None:
    raw, _model = registry
    small = frame.canonical(raw.head(1500), "ma")
    model = linkage.train(small)
    assert model.anchor_pairs == 0
    date = next(c for c in model.settings["comparisons"] if c["output_column_name"] == "birth_date")
    m = [lvl["m_probability"] for lvl in date["comparison_levels"] if not lvl.get("is_null_level")]
    assert m == pytest.approx(list(linkage.REGISTRY_DATE_M))


def test_every_comparison_is_trained(registry: tuple[pl.DataFrame, linkage.LinkageModel]) -> None:
    """Splink leaves a comparison untrained (and scores it with default values) when every
    training block reads one of its columns: the household rule must read none."""
    _raw, model = registry
    untrained = [
        f"{c['output_column_name']}: {lvl.get('label_for_charts')}"
        for c in model.settings["comparisons"]
        for lvl in c["comparison_levels"]
        if not lvl.get("is_null_level")
        and (lvl.get("m_probability") is None or lvl.get("u_probability") is None)
    ]
    assert untrained == []
