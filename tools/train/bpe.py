"""Byte-level BPE in the CLIP format (vocab.json + merges.txt), learned from our captions.

Layout of the vocabulary, as in openai/CLIP: 256 byte symbols, the same 256 with "</w>",
one token per merge in merge order, then <|startoftext|> and <|endoftext|> (the largest id,
which the pipeline's legacy pooling relies on). Text cleanup mirrors transformers'
BasicTokenizer path (NFC, whitespace collapse, lower-case); the pre-split regex is CLIP's,
with Python `re` classes standing in for \\p{L} / \\p{N}.
"""
import json
import os
import re
import unicodedata

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
_SPLIT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
                    re.IGNORECASE)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()


def clean(text):
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if c.isspace() else c for c in text if not unicodedata.category(c).startswith("C") or c.isspace())
    return " ".join(text.split()).lower()


def pre_tokens(text):
    return ["".join(B2U[b] for b in w.encode("utf-8")) for w in _SPLIT.findall(clean(text))]


def train(texts, vocab_size):
    """Learn merges until the vocabulary has vocab_size entries (or no pair occurs twice)."""
    freq = {}
    for t in texts:
        for w in pre_tokens(t):
            freq[w] = freq.get(w, 0) + 1
    words = [list(w[:-1]) + [w[-1] + "</w>"] for w in freq]
    counts = list(freq.values())
    pairs, where = {}, {}
    for i, sym in enumerate(words):
        for p in zip(sym, sym[1:]):
            pairs[p] = pairs.get(p, 0) + counts[i]
            where.setdefault(p, set()).add(i)
    merges = []
    n_merges = vocab_size - 512 - 2
    while len(merges) < n_merges and pairs:
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if best[1] < 2:
            break
        (a, b) = best[0]
        merges.append((a, b))
        for i in list(where.get((a, b), ())):
            sym = words[i]
            for p in zip(sym, sym[1:]):
                pairs[p] -= counts[i]
                if pairs[p] <= 0:
                    del pairs[p]
                where[p].discard(i)
            out, k = [], 0
            while k < len(sym):
                if k + 1 < len(sym) and sym[k] == a and sym[k + 1] == b:
                    out.append(a + b)
                    k += 2
                else:
                    out.append(sym[k])
                    k += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pairs[p] = pairs.get(p, 0) + counts[i]
                where.setdefault(p, set()).add(i)
    return merges


class Tokenizer:
    def __init__(self, vocab, merges, max_length=77):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.max_length = max_length
        self.bos, self.eos = vocab[BOS], vocab[EOS]
        self.pad = self.eos
        self.cache = {}

    @classmethod
    def build(cls, merges, max_length=77):
        syms = list(B2U.values())
        vocab_list = syms + [s + "</w>" for s in syms] + ["".join(m) for m in merges] + [BOS, EOS]
        return cls({s: i for i, s in enumerate(vocab_list)}, merges, max_length)

    @classmethod
    def load(cls, folder):
        vocab = json.load(open(os.path.join(folder, "vocab.json"), encoding="utf-8"))
        lines = open(os.path.join(folder, "merges.txt"), encoding="utf-8").read().split("\n")[1:]
        merges = [tuple(line.split()) for line in lines if line.strip()]
        cfg = json.load(open(os.path.join(folder, "tokenizer_config.json")))
        return cls(vocab, merges, cfg.get("model_max_length", 77))

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        sym = list(word[:-1]) + [word[-1] + "</w>"]
        while len(sym) > 1:
            ranked = [(self.ranks.get(p, 1 << 30), k) for k, p in enumerate(zip(sym, sym[1:]))]
            r, k = min(ranked)
            if r == 1 << 30:
                break
            sym = sym[:k] + [sym[k] + sym[k + 1]] + sym[k + 2:]
        self.cache[word] = sym
        return sym

    def encode(self, text):
        """-> list of max_length ids: BOS, tokens (truncated), EOS, padding (EOS)."""
        ids = [self.vocab[s] for w in pre_tokens(text) for s in self.bpe(w)]
        ids = [self.bos] + ids[:self.max_length - 2] + [self.eos]
        return ids + [self.pad] * (self.max_length - len(ids))

    def save(self, folder, merges):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(self.vocab, f, ensure_ascii=False)
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        special = {"content": None, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
        json.dump({"bos_token": dict(special, content=BOS), "eos_token": dict(special, content=EOS),
                   "pad_token": EOS, "unk_token": dict(special, content=EOS)},
                  open(os.path.join(folder, "special_tokens_map.json"), "w"), indent=2)
        added = {str(self.vocab[t]): dict(special, content=t, special=True) for t in (BOS, EOS)}
        json.dump({"added_tokens_decoder": added, "bos_token": BOS, "clean_up_tokenization_spaces": True,
                   "eos_token": EOS, "errors": "replace", "model_max_length": self.max_length,
                   "pad_token": EOS, "tokenizer_class": "CLIPTokenizer", "unk_token": EOS},
                  open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=2)
