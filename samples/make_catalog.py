"""Write samples/catalog.csv, the sample Shopify product CSV export (legacy headers + conventions, see samples/README.md)."""

import csv
from pathlib import Path

OUT = Path(__file__).resolve().parent / "catalog.csv"


def ean13(body12: str) -> str:
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body12))
    return body12 + str((10 - s % 10) % 10)

F = "Features (product.metafields.custom.features)"
S = "How-to steps (product.metafields.custom.howto_steps)"
HEAD = ["Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
        "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
        "Variant SKU", "Variant Grams", "Variant Inventory Qty", "Variant Price", "Variant Compare At Price",
        "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Status",
        "Price / Germany", "Compare-at price / Germany", "Price / Japan", "Compare-at price / Japan",
        F, S,
        "Title (de)", "Body (HTML) (de)", f"{F} (de)", f"{S} (de)",
        "Title (ja)", "Body (HTML) (ja)", f"{F} (ja)", f"{S} (ja)"]

barcode = [400638100000]
def gtin():
    barcode[0] += 7
    return ean13(str(barcode[0]))

P = []
def product(handle, title, body, vendor, taxcat, typ, tags, options, variants, images, features=(), steps=(), de=None, ja=None):
    P.append(dict(handle=handle, title=title, body=body, vendor=vendor, taxcat=taxcat, type=typ, tags=tags,
                  options=options, variants=variants, images=images, features=features, steps=steps, de=de, ja=ja))

# variants: (option values tuple, sku, grams, price, compare_at, de_price, de_cap, jp_price, jp_cap)
product("ceramic-mug", "Stoneware Coffee Mug",
        "<p>A hand-glazed <strong>stoneware mug</strong> that holds 350&nbsp;ml of coffee or tea.</p><ul><li>Dishwasher and microwave safe</li><li>Wide handle for a comfortable grip</li></ul>",
        "Fieldhouse", "Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs", "Kitchen", "mug, stoneware, coffee",
        ["Color"], [(("White",), "MUG-WHT", 420, "18.00", "", "17.90", "", "2400", ""),
                    (("Blue",), "MUG-BLU", 420, "18.00", "", "17.90", "", "2400", ""),
                    (("Sage",), "MUG-SAG", 420, "19.00", "", "18.90", "", "2500", "")],
        [("images/mug-white.jpg", "White stoneware mug"), ("images/mug-blue.jpg", "Blue stoneware mug"), ("images/mug-sage.jpg", "Sage green stoneware mug")],
        features=["Holds 350 ml", "Hand-glazed stoneware", "Dishwasher and microwave safe"],
        de=dict(title="Kaffeebecher aus Steinzeug", body="<p>Ein handglasierter <strong>Becher aus Steinzeug</strong> für 350&nbsp;ml Kaffee oder Tee.</p><ul><li>Spülmaschinen- und mikrowellengeeignet</li><li>Breiter Henkel, angenehm in der Hand</li></ul>",
                features=["Fasst 350 ml", "Handglasiertes Steinzeug", "Spülmaschinen- und mikrowellengeeignet"]),
        ja=dict(title="ストーンウェア マグカップ", body="<p>手作業で釉薬をかけた<strong>ストーンウェアのマグカップ</strong>。容量は350mlです。</p><ul><li>食洗機・電子レンジ対応</li><li>持ちやすい広めの取っ手</li></ul>",
                features=["容量350ml", "手作業で釉がけしたストーンウェア", "食洗機・電子レンジ対応"]))

product("pour-over-coffee-set", "Pour-Over Coffee Set",
        "<p>Everything you need to brew a clean, bright cup: a ceramic dripper, a glass server and 40 paper filters.</p>",
        "Fieldhouse", "Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils > Coffee Filters", "Kitchen", "coffee, pour-over, brewing",
        [], [((), "POUR-SET", 900, "42.00", "", "39.90", "", "5800", "")],
        [("images/coffee.jpg", "A cup of pour-over coffee on a saucer")],
        features=["Ceramic dripper with spiral ribs", "600 ml glass server", "40 paper filters included"],
        steps=["Rinse the paper filter with hot water", "Add 15 g of medium-fine ground coffee", "Pour 50 ml of water and let it bloom for 30 seconds", "Pour the rest slowly in circles up to 250 ml", "Remove the dripper and serve"],
        de=dict(title="Handfilter-Kaffeeset", body="<p>Alles für eine klare, aromatische Tasse: ein Keramikfilter, eine Glaskanne und 40 Papierfilter.</p>",
                features=["Keramikfilter mit Spiralrillen", "Glaskanne mit 600 ml", "40 Papierfilter im Set"],
                steps=["Papierfilter mit heißem Wasser ausspülen", "15 g mittelfein gemahlenen Kaffee einfüllen", "50 ml Wasser aufgießen und 30 Sekunden quellen lassen", "Den Rest langsam in Kreisen bis 250 ml aufgießen", "Filter abnehmen und servieren"]),
        ja=dict(title="ハンドドリップ コーヒーセット", body="<p>すっきりとした一杯を淹れるためのセット。陶器のドリッパー、ガラスサーバー、ペーパーフィルター40枚入り。</p>",
                features=["らせん状リブの陶器ドリッパー", "600mlのガラスサーバー", "ペーパーフィルター40枚付き"],
                steps=["ペーパーフィルターをお湯でリンスする", "中細挽きのコーヒー豆15gを入れる", "50mlのお湯を注ぎ、30秒蒸らす", "残りのお湯を円を描くようにゆっくり250mlまで注ぐ", "ドリッパーを外して注ぎ分ける"]))

product("chef-knife", "Forged Chef's Knife",
        "<p>A forged stainless steel chef's knife with a full tang and a walnut handle.</p><ul><li>Hand-sharpened 15° edge</li><li>Balanced for long prep sessions</li></ul>",
        "Ironleaf", "Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils > Kitchen Knives > Chef's Knives", "Kitchen", "knife, chef, steel",
        ["Blade length"], [(("20 cm",), "KNIFE-20", 240, "69.00", "89.00", "64.90", "84.90", "9800", "12800"),
                           (("24 cm",), "KNIFE-24", 280, "79.00", "99.00", "74.90", "94.90", "11000", "14000")],
        [("images/knife.jpg", "Chef's knife with a walnut handle")],
        features=["Forged stainless steel", "Full tang, walnut handle", "15° edge"],
        de=dict(title="Geschmiedetes Kochmesser", body="<p>Ein geschmiedetes Kochmesser aus rostfreiem Stahl mit durchgehendem Erl und Walnussgriff.</p>",
                features=["Geschmiedeter rostfreier Stahl", "Durchgehender Erl, Walnussgriff", "Schneidwinkel 15°"]))

product("bamboo-cutting-board", "Bamboo Cutting Board",
        "<p>A sturdy bamboo board with a juice groove and a hanging hole.</p>",
        "Ironleaf", "Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils > Cutting Boards", "Kitchen", "board, bamboo",
        [], [((), "BOARD-BAM", 1100, "34.00", "", "32.90", "", "4500", "")],
        [("images/cutting-board.jpg", "Bamboo cutting board")],
        features=["45 × 30 cm", "Juice groove on one side", "Hanging hole"],
        steps=["Wash by hand with warm soapy water", "Dry upright, away from heat", "Oil the board once a month with food-safe mineral oil"])

product("glass-storage-jars", "Glass Storage Jars",
        "<p>Borosilicate glass jars with oak lids and a silicone seal, for coffee, pasta and grains.</p>",
        "Fieldhouse", "Home & Garden > Kitchen & Dining > Food Storage > Food Storage Containers", "Kitchen", "storage, glass, pantry",
        ["Set"], [(("Set of 3",), "JARS-3", 1500, "36.00", "", "34.90", "", "4800", ""),
                  (("Set of 6",), "JARS-6", 2900, "64.00", "", "59.90", "", "8600", "")],
        [("images/jars.jpg", "Three glass storage jars with oak lids")])

product("insulated-water-bottle", "Insulated Steel Water Bottle",
        "<p>Double-walled stainless steel keeps drinks cold for 24 hours or hot for 12.</p><ul><li>Leak-proof lid</li><li>Fits most cup holders</li></ul>",
        "Northtrail", "Sporting Goods > Outdoor Recreation > Camping & Hiking > Water Bottles", "Outdoor", "bottle, hiking, insulated",
        ["Color", "Size"], [(("Teal", "500 ml"), "BTL-TEA-500", 340, "29.00", "", "27.90", "", "3900", ""),
                            (("Teal", "750 ml"), "BTL-TEA-750", 420, "34.00", "", "32.90", "", "4500", ""),
                            (("Black", "500 ml"), "BTL-BLK-500", 340, "29.00", "", "27.90", "", "3900", ""),
                            (("Black", "750 ml"), "BTL-BLK-750", 420, "34.00", "", "32.90", "", "4500", "")],
        [("images/bottle-teal.png", "Teal insulated bottle"), ("images/bottle-black.png", "Black insulated bottle")],
        features=["Cold for 24 hours, hot for 12", "Leak-proof lid", "Fits most cup holders"],
        de=dict(title="Isolierte Trinkflasche aus Edelstahl", body="<p>Doppelwandiger Edelstahl hält Getränke 24 Stunden kalt oder 12 Stunden heiß.</p><ul><li>Auslaufsicherer Deckel</li><li>Passt in die meisten Becherhalter</li></ul>",
                features=["24 Stunden kalt, 12 Stunden heiß", "Auslaufsicherer Deckel", "Passt in die meisten Becherhalter"]),
        ja=dict(title="真空断熱ステンレスボトル", body="<p>二重構造のステンレスで、冷たさは24時間、温かさは12時間キープ。</p><ul><li>漏れにくいフタ</li><li>ほとんどのカップホルダーに対応</li></ul>",
                features=["保冷24時間・保温12時間", "漏れにくいフタ", "ほとんどのカップホルダーに対応"]))

product("camping-lantern", "Rechargeable Camping Lantern",
        "<p>A warm, dimmable LED lantern that runs up to 40 hours on one charge. USB-C charging.</p>",
        "Northtrail", "Sporting Goods > Outdoor Recreation > Camping & Hiking > Camping Lights & Lanterns", "Outdoor", "lantern, camping, led",
        [], [((), "LANT-01", 380, "45.00", "", "42.90", "", "6200", "")],
        [("images/lantern.jpg", "Camping lantern glowing at dusk")],
        features=["Up to 40 hours of light", "Three warm brightness levels", "USB-C charging"],
        steps=["Charge the lantern with the USB-C cable until the light turns green", "Press the button once to switch on", "Press again to change the brightness", "Hold the button for two seconds to switch off"],
        de=dict(title="Wiederaufladbare Campinglaterne", body="<p>Eine warmweiße, dimmbare LED-Laterne mit bis zu 40 Stunden Leuchtdauer pro Ladung. Laden über USB-C.</p>",
                features=["Bis zu 40 Stunden Licht", "Drei warme Helligkeitsstufen", "Laden über USB-C"],
                steps=["Laterne mit dem USB-C-Kabel laden, bis die Anzeige grün leuchtet", "Taste einmal drücken zum Einschalten", "Erneut drücken, um die Helligkeit zu ändern", "Taste zwei Sekunden halten zum Ausschalten"]),
        ja=dict(title="充電式キャンプランタン", body="<p>一回の充電で40時間まで使える、調光可能な暖色LEDランタン。USB-C充電対応。</p>",
                features=["40時間まで点灯", "3段階の暖色調光", "USB-C充電"],
                steps=["USB-Cケーブルでランプが緑になるまで充電する", "ボタンを1回押して点灯する", "もう一度押すと明るさが変わる", "ボタンを2秒長押しして消灯する"]))

product("trail-backpack", "Trail Backpack 28 L",
        "<p>A 28-litre daypack with a padded back panel, hip belt and rain cover.</p>",
        "Northtrail", "Luggage & Bags > Backpacks", "Outdoor", "backpack, hiking",
        ["Color"], [(("Rust",), "PACK-RST", 1100, "98.00", "", "94.90", "", "13800", ""),
                    (("Forest",), "PACK-FOR", 1100, "98.00", "", "94.90", "", "13800", "")],
        [("images/backpack-rust.jpg", "Rust trail backpack"), ("images/backpack-forest.jpg", "Forest green trail backpack")],
        features=["28 litres", "Padded back panel", "Rain cover in the base pocket"])

product("folding-camp-chair", "Folding Camp Chair",
        "<p>A light aluminium chair that folds into its own carry bag.</p>",
        "Northtrail", "Sporting Goods > Outdoor Recreation > Camping & Hiking > Camp Furniture", "Outdoor", "chair, camping",
        [], [((), "CHAIR-01", 1200, "59.00", "", "56.90", "", "8200", "")],
        [("images/chair.jpg", "Blue folding camp chair")],
        steps=["Take the frame out of the bag and unfold it", "Slide the seat sleeves over the four poles", "Press down on the seat to lock the frame"])

product("lavender-hand-cream", "Lavender Hand Cream",
        "<p>A rich hand cream with shea butter and lavender oil that absorbs quickly.</p>",
        "Meadow & Co", "Health & Beauty > Personal Care > Cosmetics > Skin Care > Lotion & Moisturizer", "Beauty", "hand cream, lavender, skincare",
        ["Size"], [(("50 ml",), "CREAM-50", 70, "14.00", "", "13.50", "", "1800", ""),
                   (("100 ml",), "CREAM-100", 125, "22.00", "", "20.90", "", "2900", "")],
        [("images/hand-cream.png", "Lavender hand cream tube")],
        features=["Shea butter and lavender oil", "Absorbs quickly", "Travel-size tube"],
        steps=["Squeeze a pea-sized amount onto the back of your hand", "Massage into both hands and cuticles", "Apply again after washing"],
        de=dict(title="Lavendel-Handcreme", body="<p>Eine reichhaltige Handcreme mit Sheabutter und Lavendelöl, die schnell einzieht.</p>",
                features=["Sheabutter und Lavendelöl", "Zieht schnell ein", "Tube in Reisegröße"],
                steps=["Eine erbsengroße Menge auf den Handrücken geben", "In beide Hände und Nagelhaut einmassieren", "Nach dem Händewaschen erneut auftragen"]),
        ja=dict(title="ラベンダー ハンドクリーム", body="<p>シアバターとラベンダーオイル配合。すっとなじむ濃厚なハンドクリーム。</p>",
                features=["シアバターとラベンダーオイル配合", "すばやくなじむ", "持ち運びしやすいチューブ"],
                steps=["手の甲にパール粒大を取る", "両手と爪の周りになじませる", "手洗いの後にも塗り直す"]))

product("soy-wax-candle", "Soy Wax Candle",
        "<p>A hand-poured soy wax candle in an amber glass jar. About 45 hours of burn time.</p>",
        "Meadow & Co", "Home & Garden > Decor > Home Fragrances > Candles", "Home", "candle, soy, home fragrance",
        ["Scent"], [(("Cedar",), "CANDLE-CED", 380, "26.00", "", "24.90", "", "3400", ""),
                    (("Fig",), "CANDLE-FIG", 380, "26.00", "", "24.90", "", "3400", "")],
        [("images/candle.jpg", "Soy wax candle in an amber jar")],
        features=["Hand-poured soy wax", "Cotton wick", "About 45 hours of burn time"],
        steps=["Trim the wick to 5 mm before lighting", "Let the wax melt to the edges on the first burn", "Burn for no more than four hours at a time", "Put the lid on to put out the flame"],
        de=dict(title="Sojawachskerze", body="<p>Eine handgegossene Kerze aus Sojawachs im Braunglas. Brenndauer etwa 45 Stunden.</p>",
                features=["Handgegossenes Sojawachs", "Baumwolldocht", "Etwa 45 Stunden Brenndauer"],
                steps=["Docht vor dem Anzünden auf 5 mm kürzen", "Beim ersten Brennen das Wachs bis zum Rand schmelzen lassen", "Nicht länger als vier Stunden am Stück brennen lassen", "Zum Löschen den Deckel aufsetzen"]),
        ja=dict(title="ソイワックス キャンドル", body="<p>アンバーガラスの器に手流しで仕上げたソイワックスキャンドル。燃焼時間は約45時間。</p>",
                features=["手流しのソイワックス", "コットン芯", "燃焼時間 約45時間"],
                steps=["火をつける前に芯を5mmに切る", "初回はロウが縁まで溶けるまで燃やす", "一度に4時間以上燃やさない", "フタをかぶせて火を消す"]))

product("linen-cushion-cover", "Linen Cushion Cover",
        "<p>A stonewashed linen cushion cover, 45 × 45 cm, with a hidden zip.</p>",
        "Meadow & Co", "Home & Garden > Linens & Bedding > Bedding > Pillowcases & Shams", "Home", "cushion, linen, living room",
        ["Color"], [(("Sand",), "CUSH-SND", 200, "32.00", "", "29.90", "", "4200", ""),
                    (("Slate",), "CUSH-SLT", 200, "32.00", "", "29.90", "", "4200", "")],
        [("images/cushion-sand.jpg", "Sand linen cushion"), ("images/cushion-slate.jpg", "Slate linen cushion")],
        features=["Stonewashed linen", "45 × 45 cm", "Hidden zip"],
        de=dict(title="Kissenbezug aus Leinen", body="<p>Ein stonewashed Kissenbezug aus Leinen, 45 × 45 cm, mit verdecktem Reißverschluss.</p>"))

product("cotton-bath-towels", "Cotton Bath Towel Set",
        "<p>Four soft, absorbent towels in 600 g/m² cotton terry.</p>",
        "Meadow & Co", "Home & Garden > Linens & Bedding > Towels > Bath Towels & Washcloths", "Home", "towels, bathroom, cotton",
        [], [((), "TOWEL-SET4", 2400, "68.00", "", "64.90", "", "9200", "")],
        [("images/towels.jpg", "A stack of four folded bath towels")],
        features=["600 g/m² cotton terry", "Two bath and two hand towels", "Machine washable at 60 °C"])

product("oak-wall-clock", "Oak Wall Clock",
        "<p>A quiet-sweep wall clock with an oak frame and clear Roman numerals.</p>",
        "Fieldhouse", "Home & Garden > Decor > Clocks > Wall Clocks", "Home", "clock, wall decor",
        [], [((), "CLOCK-OAK", 900, "54.00", "", "49.90", "", "7400", "")],
        [("images/wall-clock.jpg", "Oak wall clock with Roman numerals")],
        ja=dict(title="オーク材の掛け時計", body="<p>オーク材の枠と読みやすいローマ数字の、静かな連続秒針の掛け時計。</p>"))

product("cat-bed", "Felted Wool Cat Bed",
        "<p>A cosy cave of felted wool that cats love to curl up in.</p>",
        "Fieldhouse", "Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Beds", "Home", "cat, pet, wool",
        [], [((), "CATBED-01", 800, "64.00", "", "59.90", "", "8800", "")],
        [("images/cat-bed.jpg", "A tabby cat resting")],
        features=["Hand-felted wool", "40 cm across", "Removable cushion"])

rows = []
for p in P:
    n = max(len(p["variants"]), len(p["images"]))
    for i in range(n):
        r = {h: "" for h in HEAD}
        r["Handle"] = p["handle"]
        if i == 0:
            r.update({"Title": p["title"], "Body (HTML)": p["body"], "Vendor": p["vendor"], "Product Category": p["taxcat"],
                      "Type": p["type"], "Tags": p["tags"], "Published": "TRUE", "Status": "active",
                      F: "\n".join(p["features"]), S: "\n".join(p["steps"])})
            for loc in ("de", "ja"):
                t = p[loc]
                if t:
                    r[f"Title ({loc})"] = t["title"]; r[f"Body (HTML) ({loc})"] = t["body"]
                    r[f"{F} ({loc})"] = "\n".join(t.get("features", [])); r[f"{S} ({loc})"] = "\n".join(t.get("steps", []))
        if i < len(p["variants"]):
            vals, sku, grams, price, cap, dep, decap, jpp, jpcap = p["variants"][i]
            names = p["options"] or ["Title"]
            vals = vals or ("Default Title",)
            for j, (nm, v) in enumerate(zip(names, vals), start=1):
                if i == 0:
                    r[f"Option{j} Name"] = nm
                r[f"Option{j} Value"] = v
            r.update({"Variant SKU": sku, "Variant Grams": str(grams), "Variant Inventory Qty": "40", "Variant Price": price,
                      "Variant Compare At Price": cap, "Variant Barcode": gtin(), "Price / Germany": dep,
                      "Compare-at price / Germany": decap, "Price / Japan": jpp, "Compare-at price / Japan": jpcap})
        if i < len(p["images"]):
            r["Image Src"], r["Image Alt Text"] = p["images"][i]
            r["Image Position"] = str(i + 1)
        rows.append(r)

with open(OUT, "w", newline="", encoding="utf-8") as fh:
    w = csv.DictWriter(fh, HEAD)
    w.writeheader(); w.writerows(rows)
print(len(P), "products", len(rows), "rows")
