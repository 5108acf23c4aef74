"""An ambiguous match resolved by `review merge`: the next sync writes the chosen Contact (stamping
our external id on it), nothing else, and the run after matches it by external id."""

from __future__ import annotations

from intercom_salesforce import cli
from tests.helpers import full_range, run_range, soql, warehouse_rows


def test_merge_picks_the_survivor_and_the_sync_follows(sandbox, tmp_path, monkeypatch, capsys):
    first, last = full_range()
    assert run_range(sandbox, tmp_path, first, last).success
    item_id, person, candidates = warehouse_rows(
        tmp_path,
        "SELECT item_id, record_id, candidates FROM quality.review_queue "
        "WHERE rule = 'ambiguous_match' AND status = 'open' ORDER BY item_id LIMIT 1",
    )[0]
    assert len(candidates) == 2 and all(c.startswith("Contact:") for c in candidates)
    survivor, other = (c.split(":")[1] for c in candidates)

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    assert cli.main(["review", "merge", str(item_id), "--survivor", "00Qnot-a-candidate"]) == 1
    assert "not a Contact or Lead in the Salesforce mirror" in capsys.readouterr().err
    assert cli.main(["review", "merge", str(item_id), "--survivor", survivor, "--by", "ana"]) == 0
    assert f"Contact:{survivor} survives" in capsys.readouterr().out

    second = run_range(sandbox, tmp_path, first, last)
    assert second.success
    assert warehouse_rows(
        tmp_path,
        "SELECT rule, sf_object, sf_id FROM match.person_matches WHERE intercom_contact_id = ?",
        [person],
    ) == [("manual", "Contact", survivor)]
    outcomes = warehouse_rows(
        tmp_path,
        "SELECT run_id, sobject, outcome, sf_id FROM sync.sync_results WHERE external_id = ?",
        [person],
    )
    assert outcomes == [(second.run_id, "Contact", "updated", survivor)]
    contacts = {
        r["Id"]: r["Intercom_Contact_Id__c"]
        for r in soql(
            sandbox,
            f"SELECT Id, Intercom_Contact_Id__c FROM Contact WHERE Id IN ('{survivor}', '{other}')",
        )
    }
    assert contacts == {survivor: person, other: None}
    # no other record was created for the person
    assert [
        r["Id"]
        for r in soql(sandbox, f"SELECT Id FROM Contact WHERE Intercom_Contact_Id__c = '{person}'")
    ] == [survivor]
    assert soql(sandbox, f"SELECT Id FROM Lead WHERE Intercom_Contact_Id__c = '{person}'") == []

    assert run_range(sandbox, tmp_path, first, last).success
    assert warehouse_rows(
        tmp_path,
        "SELECT rule, sf_object, sf_id FROM match.person_matches WHERE intercom_contact_id = ?",
        [person],
    ) == [("external_id", "Contact", survivor)]
    status, note = warehouse_rows(
        tmp_path, "SELECT status, note FROM quality.review_queue WHERE item_id = ?", [item_id]
    )[0]
    assert status == "fixed" and f"Contact:{survivor}" in note
    assert warehouse_rows(
        tmp_path,
        "SELECT count(*) FROM sync.sync_results WHERE external_id = ? AND outcome = 'created'",
        [person],
    ) == [(0,)]
