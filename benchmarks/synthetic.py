"""A deterministic synthetic news corpus for speed benchmarks.

Stories of 1-10 articles: each story starts from one real article of the labeled dev
corpora (read from ../shared/data at run time, never stored in this repository), and its
other articles are paraphrases of it (sentences dropped, reordered, words swapped for
others of the corpus, a new headline), so stories share sentences the way coverage of
one event does. Dates spread over two years (a story's articles within three days),
outlets from a fixed list, tags from the story's words. The same N and seed always give
the same files.

    python benchmarks/synthetic.py OUT_DIR [--articles 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from corpus_site import load_rows

OUTLETS = [f"{a} {b}" for a in ("Daily", "Morning", "Evening", "Coast", "Valley", "Metro",
                                "National", "City") for b in ("Herald", "Courier", "Post",
                                                              "Times", "Wire")]
START = date(2024, 1, 1)


@dataclass(frozen=True)
class SyntheticArticle:
    name: str
    title: str
    text: str
    day: date
    source: str
    tags: tuple[str, ...]

    def markdown(self) -> str:
        front = {"title": self.title, "date": self.day.isoformat(), "source": self.source,
                 "tags": list(self.tags)}
        lines = [f"{key}: {json.dumps(value)}" for key, value in front.items()]
        return "---\n" + "\n".join(lines) + "\n---\n" + self.text + "\n"


def base_articles() -> list[dict[str, str]]:
    rows = []
    for corpus in ("basil", "ecbplus", "allsides"):
        rows += [r for r in load_rows(corpus) if len(r["text"]) > 200 and r["title"]]
    return rows


def generate(count: int, seed: int = 7) -> Iterator[SyntheticArticle]:
    """`count` articles, story by story."""
    rng = random.Random(seed)
    bases = base_articles()
    rng.shuffle(bases)
    vocabulary = sorted({w for r in bases[:500] for w in re.findall(r"[a-z]{5,}", r["text"])})
    made = 0
    for story, base in enumerate(bases * (count // len(bases) + 1)):
        if made >= count:
            return
        size = min(count - made, rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10]))
        day = START + timedelta(days=rng.randrange(730))
        sentences = re.split(r"(?<=[.!?])\s+", base["text"].replace("\n", " "))
        words = re.findall(r"[a-z]{6,}", base["text"].lower())
        tags = tuple(sorted(set(rng.sample(words, min(3, len(words))))))
        for k in range(size):
            text = " ".join(sentences) if k == 0 else _paraphrase(sentences, vocabulary, rng)
            title = base["title"] if k == 0 else _paraphrase([base["title"]], vocabulary, rng)
            yield SyntheticArticle(f"s{story:05d}-{k}", title.strip(" ."), text,
                                   day + timedelta(days=rng.randrange(3)),
                                   rng.choice(OUTLETS), tags)
            made += 1


def _paraphrase(sentences: list[str], vocabulary: list[str], rng: random.Random) -> str:
    kept = [s for s in sentences if rng.random() > 0.25] or sentences[:1]
    if len(kept) > 3 and rng.random() < 0.5:
        i = rng.randrange(len(kept) - 1)
        kept[i], kept[i + 1] = kept[i + 1], kept[i]
    out = []
    for sentence in kept:
        tokens = sentence.split()
        for i in range(len(tokens)):
            if rng.random() < 0.12 and tokens[i].isalpha() and tokens[i].islower():
                tokens[i] = rng.choice(vocabulary)
        out.append(" ".join(tokens))
    return " ".join(out)


def write_corpus(out_dir: Path, count: int, seed: int = 7) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for article in generate(count, seed):
        path = out_dir / f"{article.name}.md"
        path.write_text(article.markdown(), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    paths = write_corpus(args.out_dir, args.articles, args.seed)
    print(f"wrote {len(paths)} articles to {args.out_dir}")


if __name__ == "__main__":
    main()
