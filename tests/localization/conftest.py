"""Fixtures for localization tests: products, markets and a tiny local MarianMT model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from localization.markets import load_markets
from productreel.models import Market, MarketPrice, Product, Translation, Variant
from productreel.settings import Settings

TINY_VOCAB_TEXT = [
    "keeps coffee hot for six hours",
    "leak proof lid",
    "travel mug",
    "fill the mug and close the lid",
    "hält kaffee sechs stunden heiß",
    "auslaufsicherer deckel reisebecher",
]


@pytest.fixture(autouse=True)
def _private_caches(tmp_path_factory, monkeypatch):
    """Each test gets an empty translation cache and an empty Hugging Face cache (no model a developer pulled)."""
    base = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(base / "productreel"))
    monkeypatch.setenv("HF_HUB_CACHE", str(base / "hub"))


@pytest.fixture
def markets() -> dict[str, Market]:
    """All shipped markets."""
    return load_markets()


@pytest.fixture
def product() -> Product:
    """A mug priced in USD with a German market price and a French catalog translation."""
    return Product(
        id="101",
        handle="travel-mug",
        title="Acme Travel Mug",
        description="Keeps coffee hot for six hours. Fits every cup holder.",
        brand="Acme",
        category="Drinkware",
        features=["Leak-proof lid", "Dishwasher safe"],
        steps=["Fill the mug", "Close the lid"],
        variants=[Variant(sku="M1", price=Decimal("49.99"), currency="USD", compare_at_price=Decimal("59.99"))],
        prices={"germany": MarketPrice(amount=Decimal("44.99"), currency="EUR", compare_at=Decimal("54.99"))},
        translations={
            "fr": Translation(
                title="Mug de voyage Acme",
                description="Garde le café chaud six heures.",
                features=["Couvercle anti-fuite", "Passe au lave-vaisselle"],
            )
        },
        source="catalog.csv:2",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with no MT model and no exchange rates."""
    return Settings(out_dir=tmp_path / "out", mt_model=None, exchange_rates=None)


def build_tiny_marian(directory: Path) -> Path:
    """A random-weight MarianMT model and a word-level tokenizer, saved like a real local model."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"])
    tok.train_from_iterator(TINY_VOCAB_TEXT, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    # Marian appends </s> to every source sentence.
    from tokenizers.processors import TemplateProcessing

    fast._tokenizer.post_processor = TemplateProcessing(single="$A </s>", special_tokens=[("</s>", fast.eos_token_id)])
    config = MarianConfig(
        vocab_size=fast.vocab_size,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=fast.pad_token_id,
        eos_token_id=fast.eos_token_id,
        decoder_start_token_id=fast.pad_token_id,
        forced_eos_token_id=fast.eos_token_id,
    )
    torch.manual_seed(0)
    model = MarianMTModel(config)
    with torch.no_grad():
        # Make the words of the vocabulary likelier than the end token, so output is never empty.
        model.final_logits_bias[0, fast.eos_token_id] = -2.0
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    fast.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_mt_model(tmp_path_factory) -> Path:
    """Path of a tiny local MT model (built once per test session, no download)."""
    return build_tiny_marian(tmp_path_factory.mktemp("mt") / "opus-mt-en-de")


def build_tiny_nllb(directory: Path) -> Path:
    """A random-weight M2M100-architecture model with NLLB language codes, saved locally."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>", "<s>", "eng_Latn", "deu_Latn", "jpn_Jpan"]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(TINY_VOCAB_TEXT, trainers.WordLevelTrainer(special_tokens=specials))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", bos_token="<s>",
        additional_special_tokens=specials[4:],
    )
    fast._tokenizer.post_processor = TemplateProcessing(single="$A </s>", special_tokens=[("</s>", fast.eos_token_id)])
    config = M2M100Config(
        vocab_size=fast.vocab_size, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
        pad_token_id=fast.pad_token_id, eos_token_id=fast.eos_token_id, bos_token_id=fast.bos_token_id,
        decoder_start_token_id=fast.eos_token_id,
    )
    torch.manual_seed(0)
    M2M100ForConditionalGeneration(config).save_pretrained(directory)
    fast.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_nllb_model(tmp_path_factory) -> Path:
    """Path of a tiny local NLLB-style model (built once per test session, no download)."""
    return build_tiny_nllb(tmp_path_factory.mktemp("nllb") / "nllb")
