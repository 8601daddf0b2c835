#!/usr/bin/python3
"""The concept set of the second-generation model: a few hundred emoji that people ask for
(faces and hearts, hands, people, animals, plants, food, weather and sky, vehicles, buildings,
everyday objects, activities, symbols), each one available in all seven styles.

  /usr/bin/python3 tools/data/concepts.py --data data/cache/emoji128 --out tools/data/concepts.json

concepts.json: {"concepts": [{"label", "base", "group"}...], "heldout_pairs": [[label, style]...]}.
Held-out pairs (about one concept in HELDOUT_EVERY loses one style, chosen by sha1) are removed
from training: the evaluation asks whether the style phrase transfers to them (issue 17 §4b).

--set core (the default) writes CORE, the concepts of every group that people try first: on
this project's 2-core CPU the transformer saw each of the 268 concepts x 7 styles of --set
wide about 20 times in 2.5 hours and drew square colour fields; 67 x 7 it sees four times as
often. The wide set stays listed for a GPU run."""
import argparse
import collections
import hashlib
import json
import os

GROUPS = {
    "faces": """grinning face|face with tears of joy|smiling face with heart-eyes|smiling face with sunglasses|
        winking face|face blowing a kiss|thinking face|sleeping face|crying face|loudly crying face|angry face|
        face screaming in fear|astonished face|face with rolling eyes|cowboy hat face|face with medical mask|
        smiling face with halo|rolling on the floor laughing|pile of poo|ghost|alien|skull|see-no-evil monkey|
        speech balloon""",
    "hearts": """red heart|blue heart|green heart|yellow heart|purple heart|broken heart|two hearts|heart with arrow""",
    "hands and body": """waving hand|thumbs up|thumbs down|OK hand|clapping hands|raised hand|victory hand|crossed fingers|
        folded hands|flexed biceps|index pointing up|handshake|raising hands|eyes|ear|nose|mouth""",
    "people": """baby|boy|girl|man|woman|Santa Claus|princess|police officer|construction worker|person running|
        person swimming|woman dancing|person surfing""",
    "animals": """cat face|dog face|rabbit face|tiger face|pig face|monkey face|frog|bear|panda|fox|lion|unicorn|cat|dog|
        cow|elephant|rabbit|chicken|baby chick|bird|penguin|duck|owl|turtle|snake|dragon|dolphin|fish|
        tropical fish|shark|octopus|crab|snail|butterfly|honeybee""",
    "plants": """seedling|evergreen tree|deciduous tree|palm tree|cactus|tulip|cherry blossom|rose|hibiscus|sunflower|
        four leaf clover|maple leaf|fallen leaf|mushroom""",
    "food": """red apple|green apple|tangerine|lemon|banana|watermelon|grapes|strawberry|cherries|peach|pineapple|
        tomato|avocado|eggplant|carrot|ear of corn|hot pepper|potato|bread|cheese wedge|egg|pancakes|hamburger|
        french fries|pizza|hot dog|taco|spaghetti|sushi|steaming bowl|popcorn|doughnut|cookie|birthday cake|
        chocolate bar|lollipop|ice cream|hot beverage|glass of milk|wine glass|beer mug|cocktail glass""",
    "weather and sky": """sun|sun with face|cloud|sun behind cloud|cloud with rain|cloud with lightning|tornado|rainbow|umbrella|
        snowflake|snowman|high voltage|fire|droplet|water wave|star|shooting star|crescent moon|full moon|
        volcano|mountain|globe showing Europe-Africa""",
    "vehicles": """automobile|taxi|bus|police car|ambulance|fire engine|delivery truck|tractor|bicycle|motorcycle|
        motor scooter|locomotive|high-speed train|airplane|helicopter|rocket|ship|sailboat|anchor|fuel pump|
        stop sign""",
    "buildings and places": """house|hospital|school|castle|church|tent|ferris wheel|roller coaster|Statue of Liberty|Tokyo tower|
        desert island|beach with umbrella""",
    "objects": """backpack|crown|top hat|glasses|sunglasses|t-shirt|dress|handbag|running shoe|high-heeled shoe|ring|
        gem stone|light bulb|bomb|laptop|mobile phone|telephone|camera|television|magnifying glass tilted left|
        key|locked|bell|hammer|scissors|pencil|paintbrush|books|open book|envelope|package|alarm clock|guitar|
        trumpet|microphone|musical note""",
    "activities": """balloon|wrapped gift|party popper|jack-o-lantern|Christmas tree|fireworks|trophy|soccer ball|basketball|
        video game|game die|artist palette|ribbon|sparkles""",
    "symbols": """check mark button|cross mark|warning|no entry|recycling symbol|red circle|white question mark|plus|
        right arrow|heart suit""",
}
CORE = {
    "faces": "grinning face|face with tears of joy|smiling face with heart-eyes|smiling face with sunglasses|"
             "crying face|pile of poo|ghost|skull",
    "hearts": "red heart|blue heart|broken heart",
    "hands and body": "waving hand|thumbs up|clapping hands|OK hand",
    "people": "baby|Santa Claus|princess",
    "animals": "cat face|dog face|frog|panda|fox|unicorn|penguin|butterfly",
    "plants": "deciduous tree|evergreen tree|palm tree|cactus|sunflower",
    "food": "red apple|banana|watermelon|strawberry|pizza|hamburger|birthday cake|ice cream",
    "weather and sky": "sun|cloud|rainbow|snowflake|snowman|fire|star|crescent moon",
    "vehicles": "automobile|bus|bicycle|airplane|rocket",
    "buildings and places": "house|castle|tent",
    "objects": "crown|light bulb|laptop|key|guitar",
    "activities": "balloon|wrapped gift|soccer ball|trophy",
    "symbols": "check mark button|cross mark|warning",
}
STYLES = ("noto", "noto-v1", "twemoji", "fluent-3d", "fluent-flat", "fluent-hc", "emojitwo")
HELDOUT_EVERY = {"wide": 12, "core": 8}


def concept_labels(which="core"):
    out = []
    for group, text in (CORE if which == "core" else GROUPS).items():
        out += [(s.strip(), group) for s in text.split("|") if s.strip()]
    return out


def build(data_dir, which="core"):
    rows = [json.loads(line) for line in open(os.path.join(data_dir, "index.jsonl"))]
    styles = collections.defaultdict(set)
    base_of = {}
    for r in rows:
        if r["tone"] is None and not r["flag"]:
            styles[r["label"]].add(r["style"])
            base_of[r["label"]] = r["base"]
    concepts, missing = [], []
    for label, group in concept_labels(which):
        if len(styles.get(label, ())) == len(STYLES):
            concepts.append({"label": label, "base": base_of[label], "group": group})
        else:
            missing.append(label)
    if missing:
        raise SystemExit(f"not in all seven styles: {missing}")
    heldout = []
    for c in concepts:
        h = int(hashlib.sha1(("pair:" + c["label"]).encode()).hexdigest(), 16)
        every = HELDOUT_EVERY[which]
        if h % every == 0:
            heldout.append([c["label"], STYLES[(h // every) % len(STYLES)]])
    return {"concepts": concepts, "heldout_pairs": heldout}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/cache/emoji128")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "concepts.json"))
    ap.add_argument("--set", choices=("core", "wide"), default="core", help="CORE or every group's concepts")
    args = ap.parse_args()
    c = build(args.data, args.set)
    labels = [x["label"] for x in c["concepts"]]
    assert len(labels) == len(set(labels)), "duplicate concept"
    with open(args.out, "w") as f:
        json.dump(c, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{args.out}: {len(c['concepts'])} concepts, {len(c['heldout_pairs'])} held-out concept x style pairs")


if __name__ == "__main__":
    main()
