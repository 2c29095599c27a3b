package chexprompt

// The offline evaluator's lexicon and significance table.
//
// Significance rule (the judge prompt states the same rule in words): an
// error is clinically significant when it is likely to change treatment,
// management or outcome. Offline this becomes:
//
//	A/B (false finding / omission): significant when the finding is Major
//	    below, the mention is not hedged ("possible", "cannot exclude",
//	    "likely") and its grade is above MinSigGrade; a support device is
//	    significant only when the text that mentions it calls it malpositioned.
//	C (location): a left/right swap of a Major finding, or a device called
//	    malpositioned in one text and in standard position in the other, is
//	    significant; bilateral vs one side, zones (upper/mid/lower) and minor
//	    findings are insignificant.
//	D (severity): significant when the grades are two or more steps apart
//	    (trace 1, small/mild 2, moderate 3, large/severe 4) or the finding is a
//	    pneumothorax; otherwise insignificant.
//	E/F (comparison): significant when the finding is Major and the
//	    comparison says it worsened (new, increased, worse) or the two texts
//	    give opposite directions; otherwise insignificant.
//
// Findings: the 14 CheXpert observations (no finding is implicit; "lung
// lesion" is split into nodule and mass, "support devices" into the five
// device kinds) plus pneumoperitoneum and a few common minor findings.
//
//	finding                   major  min grade  group
//	pneumothorax              yes    -          -
//	pneumoperitoneum          yes    -          -
//	pleural_effusion          yes    trace      -
//	edema                     yes    mild       -
//	consolidation             yes    -          airspace
//	pneumonia                 yes    -          airspace
//	lung_opacity              yes    trace      airspace
//	atelectasis               no     -          -
//	nodule                    yes    -          lesion
//	mass                      yes    -          lesion
//	fracture                  yes    -          -
//	cardiomegaly              yes    mild       -
//	enlarged_cardiomediastinum yes   mild       -
//	pleural_other             no     -          -
//	emphysema, hiatal_hernia, granuloma, degenerative_change,
//	scoliosis, aortic_tortuosity   no
//	ett, enteric_tube, central_line, chest_tube, pacemaker: devices
//	    (presence errors insignificant unless malpositioned; position per C)

type finding struct {
	ID       string
	Patterns []string // RE2, matched on lower-cased text, wrapped in \b…\b
	Group    string
	Major    bool
	Device   bool
	// MinSigGrade: a mention graded at or below this (1 trace, 2 small/mild)
	// makes A/B errors insignificant. 0: no threshold.
	MinSigGrade int
}

const adv = `(?:(?:mildly|moderately|markedly|severely|slightly|minimally|massively|borderline|significantly) )?`

var findings = []finding{
	{ID: "pneumothorax", Major: true, Patterns: []string{`pneumothora(?:x|ces)`, `ptx`}},
	{ID: "pneumoperitoneum", Major: true, Patterns: []string{`pneumoperitoneum`, `free (?:intraperitoneal |intra-abdominal |subdiaphragmatic )?air`, `(?:air|gas) under the (?:right |left )?(?:hemi)?diaphragms?`, `subdiaphragmatic (?:free )?(?:air|gas)`}},
	{ID: "pleural_effusion", Major: true, MinSigGrade: 1, Patterns: []string{`(?:pleural )?effusions?`, `pleural fluid`, `(?:blunting of the (?:\w+ )?costophrenic angles?|costophrenic angle blunting)`, `hydropneumothorax`}},
	{ID: "edema", Major: true, MinSigGrade: 2, Patterns: []string{`(?:pulmonary |interstitial |alveolar )?edema`, `(?:pulmonary )?vascular congestion`, `(?:pulmonary )?venous congestion`, `fluid overload`, `kerley b lines`, `cephalization`, `vascular engorgement`}},
	{ID: "consolidation", Group: "airspace", Major: true, Patterns: []string{`consolidations?`, `consolidative (?:opacit(?:y|ies)|process|changes?)`, `consolidative`, `air ?space (?:disease|opacit(?:y|ies)|process)`}},
	{ID: "pneumonia", Group: "airspace", Major: true, Patterns: []string{`pneumonias?`, `infectious process`, `infection`, `aspiration`, `bronchopneumonia`}},
	{ID: "lung_opacity", Group: "airspace", Major: true, MinSigGrade: 1, Patterns: []string{`opacit(?:y|ies)`, `opacification`, `infiltrates?`, `haziness`, `hazy opacit(?:y|ies)`, `densit(?:y|ies)`}},
	{ID: "atelectasis", Patterns: []string{`atelectas[ie]s`, `atelectatic(?: changes?)?`, `(?:lobar |lobe )?collapse`, `volume loss`, `subsegmental atelectasis`}},
	{ID: "nodule", Group: "lesion", Major: true, Patterns: []string{`nodules?`, `nodular (?:opacit(?:y|ies)|densit(?:y|ies))`}},
	{ID: "mass", Group: "lesion", Major: true, Patterns: []string{`mass(?:es)?`, `(?:pulmonary |lung )?lesions?`, `neoplasm`, `tumou?r`}},
	{ID: "fracture", Major: true, Patterns: []string{`fractures?`, `fractured`}},
	{ID: "cardiomegaly", Major: true, MinSigGrade: 2, Patterns: []string{`cardiomegaly`, `cardiac enlargement`, `enlarged (?:heart|cardiac silhouette)`, `enlargement of the cardiac silhouette`, `heart (?:size )?is ` + adv + `enlarged`, `cardiac silhouette is ` + adv + `enlarged`, `heart size is ` + adv + `(?:increased|large)`}},
	{ID: "enlarged_cardiomediastinum", Major: true, MinSigGrade: 2, Patterns: []string{`widened mediastinum`, `mediastinal widening`, `widening of the mediastinum`, `enlarged cardiomediastinal silhouette`, `cardiomediastinal silhouette is ` + adv + `(?:enlarged|widened)`, `mediastinum is ` + adv + `widened`}},
	{ID: "pleural_other", Patterns: []string{`pleural thickening`, `pleural plaques?`, `pleural scarring`, `fibrothorax`, `pleural calcifications?`}},
	{ID: "emphysema", Patterns: []string{`emphysema(?:tous changes?)?`, `hyperinflat(?:ion|ed)(?: lungs)?`, `copd`}},
	{ID: "hiatal_hernia", Patterns: []string{`hiatal hernia`, `hiatus hernia`}},
	{ID: "granuloma", Patterns: []string{`(?:calcified )?granulomas?`}},
	{ID: "degenerative_change", Patterns: []string{`degenerative (?:changes?|disease)`, `osteophytes?`, `spondylosis`}},
	{ID: "scoliosis", Patterns: []string{`scoliosis`, `dextroscoliosis`, `levoscoliosis`}},
	{ID: "aortic_tortuosity", Patterns: []string{`tortuous (?:thoracic )?aorta`, `tortuosity of the (?:thoracic )?aorta`, `aortic (?:knob |arch )?calcifications?`, `atherosclerotic calcifications?`}},
	{ID: "ett", Device: true, Patterns: []string{`endotracheal tube`, `et tube`, `ett`, `tracheostomy tube`, `tracheostomy`}},
	{ID: "enteric_tube", Device: true, Patterns: []string{`(?:nasogastric|orogastric|enteric|feeding|ng|og|dobhoff|dobbhoff) tubes?`, `dobhoff`}},
	{ID: "central_line", Device: true, Patterns: []string{`central (?:venous )?(?:line|catheter)s?`, `picc(?: line)?`, `cvc`, `(?:internal jugular|ij|subclavian) (?:central )?(?:venous )?(?:line|catheter|introducer)s?`, `swan[- ]ganz(?: catheter)?`, `port-?a-?cath`, `dialysis catheter`}},
	{ID: "chest_tube", Device: true, Patterns: []string{`chest tubes?`, `pleural (?:drain|catheter)s?`, `pigtail (?:catheter|drain)s?`, `thoracostomy tubes?`}},
	{ID: "pacemaker", Device: true, Patterns: []string{`(?:dual[- ]chamber |single[- ]chamber )?pacemaker`, `pacer`, `(?:a)?icd`, `defibrillator`, `pacing (?:leads?|wires?)`, `cardiac (?:device|leads)`}},
}

var findingByID = func() map[string]*finding {
	m := map[string]*finding{}
	for i := range findings {
		m[findings[i].ID] = &findings[i]
	}
	return m
}()

// Severity grades.
var severityWords = map[string]int{
	"trace": 1, "minimal": 1, "minimally": 1, "tiny": 1, "borderline": 1, "subtle": 1, "slight": 1, "slightly": 1,
	"small": 2, "mild": 2, "mildly": 2,
	"moderate": 3, "moderately": 3, "moderate-sized": 3, "medium": 3,
	"large": 4, "severe": 4, "severely": 4, "marked": 4, "markedly": 4, "massive": 4, "massively": 4, "extensive": 4, "substantial": 4, "huge": 4,
}
