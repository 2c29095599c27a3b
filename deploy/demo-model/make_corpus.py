#!/usr/bin/python3
"""Writes corpus.txt: radiology-style chest X-ray findings sentences, one a line,
used to train the demo model's SentencePiece tokenizer and its toy language
model. The sentences are original: a list written by hand below plus
deterministic combinations of hand-written fragments (fixed seed), so the file
is reproducible: `/usr/bin/python3 make_corpus.py` (from this folder).
None of it is clinical data."""
import random

HAND = """\
The lungs are clear without focal consolidation, effusion or pneumothorax.
Heart size is normal. Mediastinal and hilar contours are unremarkable.
No acute cardiopulmonary process.
There is a small left pleural effusion with adjacent basilar atelectasis.
Mild pulmonary vascular congestion without frank interstitial edema.
The cardiac silhouette is moderately enlarged.
An endotracheal tube terminates 4.5 cm above the carina.
A right internal jugular central venous catheter ends in the mid SVC.
The nasogastric tube courses below the diaphragm; its tip is not seen.
Left-sided pacemaker with leads in the right atrium and right ventricle.
Patchy opacity in the right lower lobe may represent pneumonia in the appropriate clinical setting.
No pneumothorax is seen following removal of the chest tube.
Median sternotomy wires are intact and aligned.
Degenerative changes are noted in the thoracic spine.
The osseous structures are intact; no acute fracture is identified.
There is blunting of the right costophrenic angle, likely a trace effusion.
Low lung volumes accentuate the bronchovascular markings.
Hyperinflated lungs with flattened hemidiaphragms, consistent with emphysema.
A 1.2 × 0.9 cm nodular opacity projects over the left mid lung.
Calcified granuloma in the right upper lobe, unchanged.
Compared with the prior study, the left basilar opacity has improved.
Interval increase in bilateral pleural effusions, now moderate on the right.
Aortic knob calcification is present. The aorta is tortuous.
Elevation of the right hemidiaphragm is again seen.
Surgical clips are noted in the right upper quadrant.
Free air is not seen beneath the diaphragm.
Diffuse bilateral interstitial opacities, which could reflect edema or atypical infection.
Subsegmental atelectasis at the left base.
Port-a-cath via the left subclavian vein with the tip at the cavoatrial junction.
Feeding tube (Dobhoff) tip is in the stomach.
There is no evidence of pulmonary edema.
The trachea is midline.
Right-sided PICC terminates at the junction of the brachiocephalic vein and SVC.
Healed fractures of the left 5th–7th ribs.
Biapical pleural thickening, likely chronic.
The heart is top-normal in size; no vascular congestion.
Limited evaluation due to patient rotation and AP technique.
A dual-chamber ICD is unchanged in position.
Multifocal airspace opacities are worse than on the study of 3 days ago.
Persistent retrocardiac opacity, atelectasis versus consolidation.
Mild cardiomegaly with a left ventricular configuration.
Stable postoperative appearance after left upper lobectomy.
Small apical pneumothorax on the right, approximately 8 mm.
No displaced rib fracture is seen; dedicated rib films are more sensitive.
Kyphosis limits assessment of the lung apices.
Bibasilar opacities likely reflect atelectasis; aspiration is not excluded.
Lines and tubes are in standard position.
Perihilar haziness with peribronchial cuffing, suggestive of mild edema.
Clear lungs. Normal heart. No effusion.
The patient is status post CABG with mediastinal clips.
Interval removal of the endotracheal and enteric tubes.
Large hiatal hernia projects behind the heart.
Widened mediastinum, partly due to AP projection; correlate clinically.
Reticular opacities at both bases, compatible with fibrosis.
The right lung is hyperlucent compared with the left.
Mass-like opacity in the left hilum measures about 3 cm.
A café-au-lait appearance is not a radiographic finding; ignore.
Cervical fusion hardware is partly imaged.
Shoulder arthroplasty on the right is noted incidentally.
Loculated fluid along the right lateral chest wall.
Tip of the left chest tube is at the apex; no residual pneumothorax.
Patient rotated to the right, which limits evaluation of the mediastinum.
Skin folds overlie the right hemithorax and mimic a pneumothorax.
No significant change since 2019-04-12.
Calcified pleural plaques suggest prior asbestos exposure.
Opacities have nearly resolved (≈90 % improvement).
Heart size normal, lungs clear: no evidence of pneumonia.
Moderate to large left effusion with compressive atelectasis.
Aortic valve replacement is seen.
Stable 6 mm nodule in the left lower lobe.
There is mild thoracolumbar scoliosis convex to the right.
Azygos fissure is a normal variant.
Bilateral nipple shadows are noted; follow-up with markers if needed.
Pulmonary arteries are prominent, which may indicate pulmonary hypertension.
The costophrenic angles are sharp.
Cardiomediastinal silhouette is stable.
No focal consolidation to suggest pneumonia.
Minimal linear atelectasis in the lingula.
Gas-filled, mildly dilated bowel loops in the upper abdomen.
Right basilar consolidation with air bronchograms.
Small bilateral effusions, left greater than right.
Increased opacity at the right base over 24 hours.
Tracheostomy tube in place.
Lung volumes are low, with crowding of vessels at the bases.
Calcified mediastinal lymph nodes, sequelae of prior granulomatous disease.
ET tube is 2 cm above the carina; consider withdrawing by 1–2 cm.
Vertebral body heights are maintained.
Compression deformity of a mid thoracic vertebra, age indeterminate.
Emphysematous changes are most pronounced at the apices.
Left lower lobe collapse with leftward mediastinal shift.
Diffuse haziness of the right hemithorax, layering effusion on this supine film.
Impression: no acute intrathoracic abnormality.
"""

REGIONS = ["right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe",
           "lingula", "left lower lobe", "right base", "left base", "lung bases",
           "right apex", "left apex", "perihilar regions", "retrocardiac region",
           "right mid lung", "left mid lung", "right hilum", "left hilum"]
OPACITY = ["opacity", "consolidation", "airspace disease", "atelectasis", "nodular opacity",
           "reticular opacity", "ground-glass opacity", "patchy opacity", "linear atelectasis",
           "scarring"]
SEVERITY = ["minimal", "mild", "small", "moderate", "large", "subtle", "trace", "extensive"]
CHANGE = ["unchanged", "improved", "worsened", "new", "stable", "slightly increased",
          "decreased", "resolved", "persistent", "similar to the prior exam"]
SIDES = ["right", "left", "bilateral"]
DEVICES = [("endotracheal tube", "terminates {n} cm above the carina"),
           ("right internal jugular catheter", "ends in the {svc}"),
           ("left internal jugular catheter", "ends in the {svc}"),
           ("right PICC", "tip projects over the {svc}"),
           ("left PICC", "tip projects over the {svc}"),
           ("enteric tube", "courses into the stomach"),
           ("nasogastric tube", "tip is in the gastric body"),
           ("right chest tube", "is unchanged in position"),
           ("left chest tube", "tip is near the apex"),
           ("pacemaker", "leads are unchanged"),
           ("Swan-Ganz catheter", "tip is in the right pulmonary artery")]
SVC = ["mid SVC", "lower SVC", "cavoatrial junction", "upper SVC", "right atrium"]
HEART = ["Heart size is normal.", "The heart is mildly enlarged.", "Cardiomegaly is stable.",
         "The cardiac silhouette is within normal limits.",
         "The cardiomediastinal silhouette is unremarkable.",
         "Moderate cardiomegaly is again noted.", "Heart size is at the upper limits of normal."]
NEGATIVES = ["No pneumothorax.", "No pleural effusion.", "No pulmonary edema.",
             "No focal consolidation.", "No acute osseous abnormality.",
             "No free air under the diaphragm.", "No pneumothorax or large effusion.",
             "No evidence of pneumonia."]


def generated(rng, n):
    out = []
    for _ in range(n):
        k = rng.randrange(7)
        if k == 0:
            s = f"{rng.choice(SEVERITY).capitalize()} {rng.choice(OPACITY)} in the {rng.choice(REGIONS)}, {rng.choice(CHANGE)}."
        elif k == 1:
            side = rng.choice(SIDES)
            eff = "effusions" if side == "bilateral" else "effusion"
            s = f"{rng.choice(SEVERITY).capitalize()} {side} pleural {eff}, {rng.choice(CHANGE)}."
        elif k == 2:
            dev, where = rng.choice(DEVICES)
            n_cm = f"{rng.randint(2, 7)}.{rng.randint(0, 9)}"
            s = f"The {dev} " + where.format(n=n_cm, svc=rng.choice(SVC)) + "."
        elif k == 3:
            s = rng.choice(HEART) + " " + rng.choice(NEGATIVES)
        elif k == 4:
            a, b = rng.sample(REGIONS, 2)
            s = f"{rng.choice(OPACITY).capitalize()} in the {a} and {b} {rng.choice(['is', 'appears', 'remains'])} {rng.choice(CHANGE)}."
        elif k == 5:
            mm = rng.randint(3, 30)
            s = f"A {mm} mm nodule in the {rng.choice(REGIONS)} is {rng.choice(CHANGE)}."
        else:
            s = f"Compared with the radiograph from {rng.randint(1, 14)} days ago, the {rng.choice(OPACITY)} in the {rng.choice(REGIONS)} is {rng.choice(CHANGE)}."
        out.append(s)
    return out


def main():
    rng = random.Random(20260415)
    hand = [l for l in HAND.splitlines() if l.strip()]
    gen = generated(rng, 420)
    seen, lines = set(), []
    for s in hand + gen:
        if s not in seen:
            seen.add(s)
            lines.append(s)
    with open("corpus.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"corpus.txt: {len(lines)} sentences")


if __name__ == "__main__":
    main()
