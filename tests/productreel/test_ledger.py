from productreel.ledger import Ledger
from productreel.models import PublishReceipt


def test_job_is_current_only_with_same_key_and_finished_status(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    job_id = "mug/de/ad/9:16"
    assert not ledger.is_current(job_id, "k1")
    ledger.record_job(job_id, "k1", "running")
    assert not ledger.is_current(job_id, "k1")
    ledger.record_job(job_id, "k1", "rendered", outputs={"video": "a.mp4"})
    assert ledger.is_current(job_id, "k1")
    assert not ledger.is_current(job_id, "k2")
    assert ledger.job(job_id)["outputs"] == {"video": "a.mp4"}
    assert ledger.job(job_id)["market"] == "de"


def test_receipts_steps_and_approvals_round_trip(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    assert ledger.receipt("k1", "folder") is None
    ledger.record_receipt(PublishReceipt(destination="folder", job_key="k1", status="published", path="/x"))
    assert ledger.receipt("k1", "folder").path == "/x"
    ledger.record_step("k1", "shopify", "staged", {"url": "u"})
    ledger.record_step("k1", "shopify", "staged", {"url": "v"})
    assert ledger.publish_steps("k1", "shopify") == {"staged": {"url": "v"}}
    ledger.record_approval("k1", "rejected", who="ana", why="wrong color")
    assert ledger.approval("k1")["why"] == "wrong color"
