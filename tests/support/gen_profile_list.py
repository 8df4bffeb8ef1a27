#!/usr/bin/env python3
"""Writes a metrics-list profile page (the family of seed 004) with N entries,
all by one owner, for measuring the profile page of a prolific author:

    python3 tests/support/gen_profile_list.py 500 > /tmp/big_list.txt
    peergraph ingest --db sqlite:/tmp/big.db --as-of 2026-11-22 /tmp/big_list.txt
    peergraph serve --db sqlite:/tmp/big.db --threads 1    # then GET /authors/A1

Deterministic (seeded): the same N gives the same page."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
random.seed(1)
months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
cats = ["CL", "LG", "CV", "AI", "IR"]
words = ("sparse adapters efficient inference graph neural retrieval language models pruning "
         "tuning merging experts dynamic networks").split()
first = "Alice Bruno Chen Dana Emil Fatima Goran Hana Ivan Julia Kenji Lena Marco Nadia Omar Petra".split()
last = "Smith Novak Garcia Tanaka Okafor Berg Rossi Weber Kowalski Silva".split()
out = []
for i in range(n):
    out.append("%s%s %d, %d%s" % (random.choice(cats), months[i % 12], 1 + i % 28, 2010 + i % 16,
                                  "Code" if i % 3 == 0 else ""))
    title = " ".join(random.choice(words) for _ in range(7)).capitalize()
    co = ["%s %s" % (first[(i + k) % 16], last[(i * 3 + k) % 10]) for k in range(2)]
    # the title ends in lowercase and runs straight into the authors, as on the real pages
    out.append("%s for study %s%s et al." % (title, "abcdefghij"[i % 10] * 3,
                                             "Benchmark Owner, " + ", ".join(co)))
    out.append("We study " + " ".join(random.choice(words) for _ in range(40)) + ".")
sys.stdout.write("\n".join(out) + "\n")
