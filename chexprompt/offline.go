package chexprompt

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// OfflineModel names the offline rule set; bump it when rules change so that
// stored evaluations say which rules made them.
const OfflineModel = "radraft-offline-rules-v1"

// Offline is the deterministic, network-free evaluator. See the package
// documentation: it approximates CheXprompt and is measured, not equal.
type Offline struct{}

// NewOffline returns the offline evaluator.
func NewOffline() *Offline { return &Offline{} }

func (*Offline) Engine() string { return EngineOffline }
func (*Offline) Model() string  { return OfflineModel }

// Evaluate compares candidate to reference. It never fails except on a
// cancelled context.
func (o *Offline) Evaluate(ctx context.Context, reference, candidate string) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := compareTexts(reference, candidate)
	res.Engine, res.Model, res.Note, res.ErrorsSource = EngineOffline, OfflineModel, OfflineNote, EngineOffline
	return res, nil
}

// ---- extraction ----

type compDir int

const (
	dirNone compDir = iota
	dirGeneric
	dirSame
	dirBetter
	dirWorse
)

func (d compDir) String() string {
	return [...]string{"", "compared", "unchanged", "better", "worse"}[d]
}

type mention struct {
	finding    *finding
	start, end int // in the clause
	sentence   int
	negated    bool
	uncertain  bool
	lats       string // subset of "LR"
	zones      string // subset of "UML"
	sevMin     int
	sevMax     int
	position   string // "", "ok", "malpositioned"
	comparison compDir
}

type cue struct {
	start, end int
	kind       string
	val        string
}

func wordRE(alts ...string) *regexp.Regexp {
	return regexp.MustCompile(`\b(?:` + strings.Join(alts, "|") + `)\b`)
}

var (
	findingREs = func() []*regexp.Regexp {
		out := make([]*regexp.Regexp, len(findings))
		for i, f := range findings {
			out[i] = wordRE(f.Patterns...)
		}
		return out
	}()
	reClauseBreak = regexp.MustCompile(`\b(?:but|however|although|though|whereas|except|apart from|aside from|which|while)\b|[:;]|\band (?:the|there|a|an)\b|\bwith (?:the )?exception of\b`)
	rePseudoNeg   = wordRE(`no (?:significant |substantial |appreciable |definite |interval |significant interval )?(?:change|increase|decrease)`, `not (?:significantly )?changed`, `without (?:interval )?change`, `not only`, `no longer`)
	reNegPre      = wordRE(`no`, `not`, `without`, `negative for`, `free of`, `absence of`, `absent`, `rather than`, `resolution of`, `removal of`, `interval removal of`, `no longer`, `none`)
	reNegPost     = wordRE(`(?:is|are|was|were) not (?:seen|identified|present|visualized|appreciated|evident|demonstrated)`, `not (?:seen|identified|present|visualized|appreciated|demonstrated)`, `(?:is|are) absent`, `(?:has|have) (?:since )?resolved`, `resolved`, `(?:is|are) no longer (?:seen|present|visualized|identified)`, `no longer (?:seen|present|visualized|identified)`, `(?:has|have) been removed`, `removed`, `ruled out`, `(?:is|are) excluded`)
	reUncPre      = wordRE(`possible`, `possibly`, `probable`, `probably`, `likely`, `may`, `might`, `could`, `suspected`, `suspect`, `suspicious for`, `suspicion for`, `suggest`, `suggests`, `suggestive of`, `suggesting`, `concerning for`, `concern for`, `question of`, `questionable`, `equivocal`, `versus`, `vs`, `cannot (?:be )?exclude(?:d)?`, `can ?not (?:be )?(?:excluded|ruled out)`, `cannot rule out`, `difficult to exclude`, `not (?:be )?excluded`, `rule out`, `differential`, `presumed`, `suggested`)
	reUncPost     = wordRE(`(?:cannot|can not) be (?:excluded|ruled out)`, `not (?:be )?excluded`, `is (?:suspected|questioned|possible|not excluded)`, `versus`, `vs`, `could be present`, `may be present`, `(?:is|are) (?:likely|possible|suspected)`)
	reLat         = wordRE(`left(?:-sided)?`, `right(?:-sided)?`, `bilateral(?:ly)?`, `both`, `bibasilar`, `bibasal`, `bilaterally`)
	reZone        = wordRE(`upper`, `apical`, `apex`, `apices`, `lower`, `base`, `bases`, `basal`, `basilar`, `bibasilar`, `bibasal`, `retrocardiac`, `infrahilar`, `costophrenic`, `middle`, `mid`, `lingula`, `lingular`, `perihilar`, `suprahilar`)
	reSev         = wordRE(`trace`, `minimal`, `minimally`, `tiny`, `borderline`, `subtle`, `slight`, `slightly`, `small`, `mild`, `mildly`, `moderate`, `moderately`, `moderate-sized`, `medium`, `large`, `severe`, `severely`, `marked`, `markedly`, `massive`, `massively`, `extensive`, `substantial`, `huge`)
	reMalpos      = wordRE(`malposition(?:ed)?`, `too (?:high|low|deep|proximal|distal)`, `(?:right|left) main ?stem(?: bronchus)?`, `(?:in|within) the (?:distal |mid |proximal )?esophagus`, `coiled`, `(?:should|could|can) be (?:advanced|withdrawn|retracted|pulled back)`, `recommend (?:advancing|advancement|withdrawal|withdrawing|retraction|repositioning)`, `(?:above|at) the (?:ge|gastroesophageal|gastro-esophageal) junction`, `(?:in|into) the (?:right |left )?(?:internal jugular|ij) vein`, `courses (?:cephalad|superiorly)`, `kinked`, `(?:projects|terminates|ends) (?:over|in) the (?:neck|axilla)`, `(?:above|at) the (?:level of the )?(?:thoracic inlet|clavicles?)`, `in the (?:right )?(?:atrium|ventricle)`, `bronchus intermedius`)
	reAtrium      = wordRE(`in the (?:right )?(?:atrium|ventricle)`)
	reOKpos       = wordRE(`(?:standard|appropriate|satisfactory|good|expected|adequate|acceptable|near-standard|unchanged|stable|similar|proper|unremarkable) (?:position|positioning|location|placement)`, `appropriately (?:positioned|placed|sited|located)`, `well[- ](?:positioned|placed|sited)`, `positioned appropriately`, `(?:in|within|into) the (?:stomach|svc|superior vena cava|mid svc|low svc|lower svc)`, `(?:at|near) the cavoatrial junction`, `(?:below|beneath) the (?:left )?(?:hemi)?diaphragm`, `\d+(?:\.\d+)? ?cm above the carina`, `(?:terminat\w*|ends|tip) (?:in|at|over) the (?:mid |low |lower |upper )?(?:svc|superior vena cava|cavoatrial junction|stomach)`, `courses below the diaphragm`)
	reCompWorse   = wordRE(`new`, `newly`, `increased`, `increasing`, `increase`, `larger`, `enlarging`, `worse`, `worsened`, `worsening`, `progressed`, `progression`, `progressive`, `developing`, `developed`, `interval development`, `interval increase`)
	reCompBetter  = wordRE(`decreased`, `decreasing`, `decrease`, `smaller`, `improved`, `improving`, `improvement`, `resolved`, `resolving`, `resolution`, `diminished`, `cleared`, `clearing`, `less prominent`, `removed`, `removal`, `interval decrease`)
	reCompSame    = wordRE(`unchanged`, `stable`, `stably`, `no change`, `no (?:significant |appreciable |substantial )?(?:interval )?change`, `not (?:significantly )?changed`, `persistent`, `persists`, `persisting`, `again (?:seen|noted|demonstrated|visualized)`, `redemonstrated`, `re-demonstrated`, `similar`, `as before`, `remains?`, `remained`, `constant`, `grossly unchanged`)
	reCompGeneric = wordRE(`compared (?:to|with)`, `comparison`, `prior`, `previous`, `previously`, `since`, `interval`, `preceding`, `earlier`)
)

type textAnalysis struct {
	sentences []string
	mentions  []mention
	// general comparisons: sentences with comparison language and no finding
	general   []int
	generalOf compDir
}

func analyse(text string) *textAnalysis {
	ta := &textAnalysis{sentences: Sentences(text)}
	for si, s := range ta.sentences {
		low := strings.ToLower(s)
		for _, clause := range splitClauses(low) {
			ms, gen := analyseClause(clause, si)
			ta.mentions = append(ta.mentions, ms...)
			if gen != dirNone {
				ta.general = append(ta.general, si)
				if gen > ta.generalOf {
					ta.generalOf = gen
				}
			}
		}
	}
	return ta
}

func splitClauses(s string) []string {
	var out []string
	last := 0
	for _, loc := range reClauseBreak.FindAllStringIndex(s, -1) {
		out = append(out, s[last:loc[0]])
		last = loc[0] // the break word starts the next clause; a colon or semicolon belongs to neither
		if c := s[loc[0]]; c == ':' || c == ';' {
			last = loc[1]
		}
	}
	return append(out, s[last:])
}

func findCues(re *regexp.Regexp, s, kind string) []cue {
	var out []cue
	for _, loc := range re.FindAllStringIndex(s, -1) {
		out = append(out, cue{loc[0], loc[1], kind, s[loc[0]:loc[1]]})
	}
	return out
}

func overlaps(a0, a1, b0, b1 int) bool { return a0 < b1 && b0 < a1 }

// findingSpan is one finding's words in a clause.
type findingSpan struct {
	f          *finding
	start, end int
}

// clauseCues are the negation and uncertainty cues of a clause that count:
// not masked by a pseudo-negation or uncertainty phrase, not inside a
// finding's own words.
type clauseCues struct {
	negPre, negPost, unc []cue
}

// analyseClause finds the mentions of findings in one clause (lower case) of
// sentence si. When the clause names no finding it returns the clause's
// comparison direction instead (a general comparison).
func analyseClause(c string, si int) ([]mention, compDir) {
	spans := findingSpans(c)
	cues := findClauseCues(c, spans)
	dir := clauseComparison(c, spans)
	if len(spans) == 0 {
		return nil, dir
	}
	out := make([]mention, 0, len(spans))
	for i := range spans {
		out = append(out, mentionAt(c, spans, i, cues, dir, si))
	}
	return out, dirNone
}

// findingSpans matches every finding; the longest match wins where two
// overlap. The result is in text order.
func findingSpans(c string) []findingSpan {
	var cands []findingSpan
	for i, re := range findingREs {
		for _, loc := range re.FindAllStringIndex(c, -1) {
			cands = append(cands, findingSpan{&findings[i], loc[0], loc[1]})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		return cands[i].end-cands[i].start > cands[j].end-cands[j].start
	})
	var spans []findingSpan
	for _, cd := range cands {
		if !inSpans(cd.start, cd.end, spans) {
			spans = append(spans, cd)
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	return spans
}

func inSpans(start, end int, spans []findingSpan) bool {
	for _, s := range spans {
		if overlaps(start, end, s.start, s.end) {
			return true
		}
	}
	return false
}

// findClauseCues: uncertainty and pseudo-negation phrases mask the negation
// words inside them ("cannot be excluded", "no change"); cues must not be
// part of a finding's words (e.g. "free of" vs "free air").
func findClauseCues(c string, spans []findingSpan) clauseCues {
	unc := append(findCues(reUncPre, c, "uncpre"), findCues(reUncPost, c, "uncpost")...)
	masks := append(append([]cue{}, unc...), findCues(rePseudoNeg, c, "pseudo")...)
	masked := func(x cue) bool {
		for _, m := range masks {
			if m.val != "no longer" && overlaps(x.start, x.end, m.start, m.end) {
				return true
			}
		}
		return false
	}
	keep := func(cs []cue, ok func(cue) bool) []cue {
		var out []cue
		for _, x := range cs {
			if ok(x) && !inSpans(x.start, x.end, spans) {
				out = append(out, x)
			}
		}
		return out
	}
	return clauseCues{
		negPre:  keep(findCues(reNegPre, c, "negpre"), func(x cue) bool { return !masked(x) || x.val == "no longer" }),
		negPost: keep(findCues(reNegPost, c, "negpost"), func(x cue) bool { return !masked(x) }),
		unc:     keep(unc, func(cue) bool { return true }),
	}
}

// clauseComparison is the strongest comparison direction the clause states;
// words inside a finding count only for worse/better ("increased opacity").
func clauseComparison(c string, spans []findingSpan) compDir {
	dir := dirNone
	for _, d := range []struct {
		re *regexp.Regexp
		d  compDir
	}{{reCompGeneric, dirGeneric}, {reCompSame, dirSame}, {reCompBetter, dirBetter}, {reCompWorse, dirWorse}} {
		for _, x := range findCues(d.re, c, "") {
			if inSpans(x.start, x.end, spans) && d.d != dirWorse && d.d != dirBetter {
				continue
			}
			if d.d > dir {
				dir = d.d
			}
		}
	}
	return dir
}

// mentionAt builds the mention of spans[i]: negation, uncertainty,
// attributes, device position and comparison.
func mentionAt(c string, spans []findingSpan, i int, cues clauseCues, dir compDir, si int) mention {
	sp := spans[i]
	m := mention{finding: sp.f, start: sp.start, end: sp.end, sentence: si}
	// Negation: a pre-cue before the mention within the clause, or a
	// post-cue after it with no comma in between.
	after := func(x cue) bool { return x.start >= sp.end && !strings.Contains(c[sp.end:x.start], ",") }
	for _, x := range cues.negPre {
		if x.end <= sp.start {
			m.negated = true
		}
	}
	for _, x := range cues.negPost {
		if after(x) {
			m.negated = true
		}
	}
	for _, x := range cues.unc {
		if (x.kind == "uncpre" && x.end <= sp.start) || (x.kind == "uncpost" && after(x)) {
			m.uncertain = true
		}
	}
	if m.uncertain && m.negated {
		// "no definite X" stays negated; "not excluded" was masked above.
		m.uncertain = false
	}
	// Attributes: look in the words since the previous finding, the
	// mention itself, then (when nothing was found) up to the next finding.
	prevEnd, nextStart := 0, len(c)
	if i > 0 {
		prevEnd = spans[i-1].end
	}
	if i+1 < len(spans) {
		nextStart = spans[i+1].start
	}
	near, rest := c[prevEnd:sp.start]+" "+c[sp.start:sp.end], c[sp.end:nextStart]
	if m.lats = lateralities(near); m.lats == "" {
		m.lats = lateralities(rest)
	}
	if m.zones = zones(near); m.zones == "" {
		m.zones = zones(rest)
	}
	if m.sevMin, m.sevMax = severity(near); m.sevMin == 0 {
		m.sevMin, m.sevMax = severity(rest)
	}
	if sp.f.Device {
		m.position = devicePosition(sp.f, c[sp.start:nextStart])
	}
	m.comparison = dir
	if m.negated && dir == dirWorse {
		m.comparison = dirSame // "no new consolidation"
	}
	return m
}

// devicePosition says "malpositioned", "ok" or "" for a device from the
// words from its mention up to the next finding.
func devicePosition(f *finding, seg string) string {
	malpos := reMalpos.FindAllString(seg, -1)
	if f.ID == "pacemaker" { // leads belong in the atrium and ventricle
		var keep []string
		for _, x := range malpos {
			if !reAtrium.MatchString(x) {
				keep = append(keep, x)
			}
		}
		malpos = keep
	}
	switch {
	case len(malpos) > 0:
		return "malpositioned"
	case reOKpos.MatchString(seg):
		return "ok"
	}
	return ""
}

func lateralities(s string) string {
	l, r := false, false
	for _, w := range reLat.FindAllString(s, -1) {
		switch {
		case strings.HasPrefix(w, "left"):
			l = true
		case strings.HasPrefix(w, "right"):
			r = true
		default:
			l, r = true, true
		}
	}
	out := ""
	if l {
		out += "L"
	}
	if r {
		out += "R"
	}
	return out
}

func zones(s string) string {
	u, m, l := false, false, false
	for _, w := range reZone.FindAllString(s, -1) {
		switch w {
		case "upper", "apical", "apex", "apices":
			u = true
		case "middle", "mid", "lingula", "lingular", "perihilar", "suprahilar":
			m = true
		default:
			l = true
		}
	}
	out := ""
	if u {
		out += "U"
	}
	if m {
		out += "M"
	}
	if l {
		out += "L"
	}
	return out
}

func severity(s string) (lo, hi int) {
	for _, w := range reSev.FindAllString(s, -1) {
		g := severityWords[w]
		if lo == 0 || g < lo {
			lo = g
		}
		if g > hi {
			hi = g
		}
	}
	return lo, hi
}

// ---- aggregation per text ----

type agg struct {
	f          *finding
	positive   bool // some mention neither negated nor hedged
	hedged     bool // only hedged mentions
	present    bool // positive or hedged
	lats       string
	zones      string
	sevMin     int
	sevMax     int
	position   string
	comparison compDir
	sentences  []int // of present mentions
	negSents   []int // of negated mentions
	compSents  []int // of mentions carrying comparison language
}

func aggregate(ms []mention) map[string]*agg {
	out := map[string]*agg{}
	for _, m := range ms {
		a := out[m.finding.ID]
		if a == nil {
			a = &agg{f: m.finding}
			out[m.finding.ID] = a
		}
		if m.comparison != dirNone {
			if m.comparison > a.comparison {
				a.comparison = m.comparison
			}
			a.compSents = appendUniq(a.compSents, m.sentence)
		}
		if m.negated {
			a.negSents = appendUniq(a.negSents, m.sentence)
			continue
		}
		if !m.uncertain {
			a.positive = true
		}
		a.present = true
		a.sentences = appendUniq(a.sentences, m.sentence)
		a.lats = union(a.lats, m.lats)
		a.zones = union(a.zones, m.zones)
		if m.sevMin > 0 {
			if a.sevMin == 0 || m.sevMin < a.sevMin {
				a.sevMin = m.sevMin
			}
			if m.sevMax > a.sevMax {
				a.sevMax = m.sevMax
			}
		}
		if m.position == "malpositioned" || (m.position == "ok" && a.position == "") {
			a.position = m.position
		}
	}
	for _, a := range out {
		a.hedged = a.present && !a.positive
	}
	return out
}

func appendUniq(xs []int, x int) []int {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

func union(a, b string) string {
	for _, r := range b {
		if !strings.ContainsRune(a, r) {
			a += string(r)
		}
	}
	order := "LRUML"
	rs := []rune(a)
	sort.Slice(rs, func(i, j int) bool { return strings.IndexRune(order, rs[i]) < strings.IndexRune(order, rs[j]) })
	return string(rs)
}

func disjoint(a, b string) bool {
	for _, r := range a {
		if strings.ContainsRune(b, r) {
			return false
		}
	}
	return true
}

// ---- comparison of the two texts ----

// comparison is one reference/candidate pair being compared: both texts'
// analyses and aggregated findings, and the errors found so far.
type comparison struct {
	rt, ct     *textAnalysis
	ra, ca     map[string]*agg
	errs       []Error
	findingErr map[string]bool // findings with an A or B error
	groupErr   map[string]int  // "type/group" → index into errs
}

// compareTexts finds CheXprompt's six error types between two reports:
// A/B (findings present in one only), C (location), D (severity), E/F
// (comparisons with a prior the other text does not make).
func compareTexts(reference, candidate string) *Result {
	rt, ct := analyse(reference), analyse(candidate)
	cmp := &comparison{rt: rt, ct: ct, ra: aggregate(rt.mentions), ca: aggregate(ct.mentions),
		findingErr: map[string]bool{}, groupErr: map[string]int{}}
	cmp.findingErrors()
	cmp.falseComparisons()
	cmp.omittedComparisons()
	res := &Result{Errors: nonNilErrs(cmp.errs), ReferenceSentences: nonNilS(rt.sentences), CandidateSentences: nonNilS(ct.sentences)}
	res.ClinicallySignificant, res.ClinicallyInsignificant = countsFromErrors(cmp.errs)
	res.Raw = "reference: " + render(cmp.ra, rt) + "\ncandidate: " + render(cmp.ca, ct)
	return res
}

// sortedIDs lists the findings of m in lexicon order, which keeps the output
// deterministic and readable.
func sortedIDs(m map[string]*agg) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return lexIndex(out[i]) < lexIndex(out[j]) })
	return out
}

// matchIn finds other's aggregate of the same finding, else of the same
// group, that satisfies ok.
func matchIn(other map[string]*agg, f *finding, ok func(*agg) bool) *agg {
	if o := other[f.ID]; o != nil && ok(o) {
		return o
	}
	if f.Group != "" {
		for _, id := range sortedIDs(other) {
			if o := other[id]; o.f.Group == f.Group && ok(o) {
				return o
			}
		}
	}
	return nil
}

func isPresent(a *agg) bool   { return a.present }
func isCompared(a *agg) bool  { return a.comparison != dirNone }
func isChange(d compDir) bool { return d == dirWorse || d == dirBetter }

func negSents(other map[string]*agg, f *finding) []int {
	if o := other[f.ID]; o != nil {
		return o.negSents
	}
	return nil
}

// addPresence records an A or B error: one per group of related findings in
// a text ("consolidation concerning for pneumonia" is one finding).
func (cmp *comparison) addPresence(e Error, a *agg) {
	cmp.findingErr[e.Finding] = true
	g := a.f.Group
	if g == "" {
		cmp.errs = append(cmp.errs, e)
		return
	}
	key := string(e.Type) + "/" + g
	at, ok := cmp.groupErr[key]
	if !ok {
		cmp.errs = append(cmp.errs, e)
		cmp.groupErr[key] = len(cmp.errs) - 1
		return
	}
	prev := &cmp.errs[at]
	prev.Significant = prev.Significant || e.Significant
	for _, i := range e.CandidateSentences {
		prev.CandidateSentences = appendUniq(prev.CandidateSentences, i)
	}
	for _, i := range e.ReferenceSentences {
		prev.ReferenceSentences = appendUniq(prev.ReferenceSentences, i)
	}
}

// findingErrors: A for the candidate's findings the reference lacks, C and D
// for those both report, B for the reference's the candidate lacks.
func (cmp *comparison) findingErrors() {
	for _, id := range sortedIDs(cmp.ca) {
		c := cmp.ca[id]
		if !c.present {
			continue
		}
		r := matchIn(cmp.ra, c.f, isPresent)
		if r == nil {
			cmp.addPresence(Error{Type: FalsePositiveFinding, Finding: id, Significant: presenceSignificant(c),
				Reason:             "candidate reports " + describe(c) + "; the reference does not",
				CandidateSentences: c.sentences, ReferenceSentences: nonNil(negSents(cmp.ra, c.f))}, c)
			continue
		}
		if e, ok := locationError(id, c, r); ok {
			cmp.errs = append(cmp.errs, e)
		}
		if e, ok := severityError(id, c, r); ok {
			cmp.errs = append(cmp.errs, e)
		}
	}
	for _, id := range sortedIDs(cmp.ra) {
		r := cmp.ra[id]
		if !r.present || matchIn(cmp.ca, r.f, isPresent) != nil {
			continue
		}
		cmp.addPresence(Error{Type: OmissionFinding, Finding: id, Significant: presenceSignificant(r),
			Reason:             "reference reports " + describe(r) + "; the candidate does not",
			ReferenceSentences: r.sentences, CandidateSentences: nonNil(negSents(cmp.ca, r.f))}, r)
	}
}

// locationError is C: a device's position, a side or a zone that differ.
func locationError(id string, c, r *agg) (Error, bool) {
	e := Error{Type: IncorrectLocation, Finding: id, CandidateSentences: c.sentences, ReferenceSentences: r.sentences}
	switch {
	case c.f.Device && r.f.Device && c.position != "" && r.position != "" && c.position != r.position:
		e.Significant = true
		e.Reason = fmt.Sprintf("%s: candidate says %s, reference says %s", id, c.position, r.position)
	case c.lats != "" && r.lats != "" && c.lats != r.lats:
		e.Significant = disjoint(c.lats, r.lats) && c.f.Major && r.f.Major && !c.hedged && !r.hedged
		e.Reason = fmt.Sprintf("%s: candidate side %s, reference side %s", id, sideName(c.lats), sideName(r.lats))
	case c.zones != "" && r.zones != "" && disjoint(c.zones, r.zones) && !c.f.Device:
		e.Reason = fmt.Sprintf("%s: candidate zone %s, reference zone %s", id, c.zones, r.zones)
	default:
		return e, false
	}
	return e, true
}

// severityError is D: both grade the finding and the ranges do not overlap.
func severityError(id string, c, r *agg) (Error, bool) {
	if c.sevMin == 0 || r.sevMin == 0 || (c.sevMax >= r.sevMin && r.sevMax >= c.sevMin) {
		return Error{}, false
	}
	gap := r.sevMin - c.sevMax
	if c.sevMin > r.sevMax {
		gap = c.sevMin - r.sevMax
	}
	return Error{Type: IncorrectSeverity, Finding: id, Significant: gap >= 2 || id == "pneumothorax",
		Reason:             fmt.Sprintf("%s: candidate grade %s, reference grade %s", id, gradeName(c.sevMin, c.sevMax), gradeName(r.sevMin, r.sevMax)),
		CandidateSentences: c.sentences, ReferenceSentences: r.sentences}, true
}

// compares says whether a text makes any comparison with a prior.
func compares(t *textAnalysis, m map[string]*agg) bool {
	if t.generalOf != dirNone {
		return true
	}
	for _, a := range m {
		if a.comparison != dirNone {
			return true
		}
	}
	return false
}

// falseComparisons is E: the candidate states a change (or a comparison)
// the reference does not, or the opposite change.
func (cmp *comparison) falseComparisons() {
	refCompares := compares(cmp.rt, cmp.ra)
	for _, id := range sortedIDs(cmp.ca) {
		c := cmp.ca[id]
		if c.comparison == dirNone || cmp.findingErr[id] {
			continue
		}
		r := matchIn(cmp.ra, c.f, isCompared)
		worse := c.f.Major && c.comparison == dirWorse && c.present
		var reason string
		sig := false
		switch {
		case r != nil && opposite(c.comparison, r.comparison):
			reason = fmt.Sprintf("%s: candidate says %s since the prior, reference says %s", id, c.comparison, r.comparison)
			sig = c.f.Major
		case r != nil:
			continue
		case !refCompares:
			reason = fmt.Sprintf("%s: candidate compares with a prior study (%s); the reference makes no comparison", id, c.comparison)
			sig = worse
		case isChange(c.comparison):
			reason = fmt.Sprintf("%s: candidate describes a change (%s) the reference does not", id, c.comparison)
			sig = worse
		default:
			continue
		}
		refS := []int{}
		if r != nil {
			refS = r.compSents
		}
		cmp.errs = append(cmp.errs, Error{Type: FalsePositiveComparison, Finding: id, Significant: sig, Reason: reason,
			CandidateSentences: c.compSents, ReferenceSentences: refS})
	}
	if len(cmp.ct.general) > 0 && !refCompares {
		cmp.errs = append(cmp.errs, Error{Type: FalsePositiveComparison, Significant: false,
			Reason:             "candidate compares with a prior study; the reference makes no comparison",
			CandidateSentences: cmp.ct.general, ReferenceSentences: []int{}})
	}
}

// omittedComparisons is F: the reference states a change the candidate
// does not mention.
func (cmp *comparison) omittedComparisons() {
	for _, id := range sortedIDs(cmp.ra) {
		r := cmp.ra[id]
		if !isChange(r.comparison) || cmp.findingErr[id] {
			continue
		}
		if matchIn(cmp.ca, r.f, isCompared) != nil {
			continue // same or opposite direction: opposite was counted as E
		}
		candS := []int{}
		if c := matchIn(cmp.ca, r.f, isPresent); c != nil {
			candS = c.sentences
		}
		cmp.errs = append(cmp.errs, Error{Type: OmissionComparison, Finding: id, Significant: r.f.Major && r.comparison == dirWorse && r.present,
			Reason:             fmt.Sprintf("%s: reference describes a change since the prior (%s); the candidate does not", id, r.comparison),
			ReferenceSentences: r.compSents, CandidateSentences: candS})
	}
	if len(cmp.rt.general) > 0 && isChange(cmp.rt.generalOf) && !compares(cmp.ct, cmp.ca) {
		cmp.errs = append(cmp.errs, Error{Type: OmissionComparison, Significant: false,
			Reason:             "reference describes a change since the prior study; the candidate makes no comparison",
			ReferenceSentences: cmp.rt.general, CandidateSentences: []int{}})
	}
}

func presenceSignificant(a *agg) bool {
	if a.f.Device {
		return a.position == "malpositioned" && !a.hedged
	}
	if !a.f.Major || a.hedged {
		return false
	}
	if a.f.MinSigGrade > 0 && a.sevMax > 0 && a.sevMax <= a.f.MinSigGrade {
		return false
	}
	return true
}

func opposite(a, b compDir) bool {
	return (a == dirWorse && b == dirBetter) || (a == dirBetter && b == dirWorse) ||
		(a == dirSame && (b == dirWorse || b == dirBetter)) || (b == dirSame && (a == dirWorse || a == dirBetter))
}

func lexIndex(id string) int {
	for i, f := range findings {
		if f.ID == id {
			return i
		}
	}
	return len(findings)
}

func describe(a *agg) string {
	s := strings.ReplaceAll(a.f.ID, "_", " ")
	if a.lats != "" {
		s = sideName(a.lats) + " " + s
	}
	if a.hedged {
		s = "possible " + s
	}
	if a.position == "malpositioned" {
		s += " (malpositioned)"
	}
	return s
}

func sideName(l string) string {
	switch l {
	case "L":
		return "left"
	case "R":
		return "right"
	case "LR":
		return "bilateral"
	}
	return l
}

var gradeNames = []string{"", "trace", "small/mild", "moderate", "large/severe"}

func gradeName(lo, hi int) string {
	if lo == hi {
		return gradeNames[lo]
	}
	return gradeNames[lo] + " to " + gradeNames[hi]
}

func render(m map[string]*agg, ta *textAnalysis) string {
	var parts []string
	for _, f := range findings {
		a := m[f.ID]
		if a == nil {
			continue
		}
		st := "absent"
		if a.positive {
			st = "present"
		} else if a.hedged {
			st = "uncertain"
		}
		p := f.ID + "=" + st
		if a.lats != "" {
			p += " side=" + a.lats
		}
		if a.zones != "" {
			p += " zone=" + a.zones
		}
		if a.sevMin > 0 {
			p += " grade=" + gradeName(a.sevMin, a.sevMax)
		}
		if a.position != "" {
			p += " position=" + a.position
		}
		if a.comparison != dirNone {
			p += " comparison=" + a.comparison.String()
		}
		parts = append(parts, p)
	}
	if ta.generalOf != dirNone {
		parts = append(parts, "general comparison="+ta.generalOf.String())
	}
	if len(parts) == 0 {
		return "(no findings recognised)"
	}
	return strings.Join(parts, "; ")
}

func nonNil(xs []int) []int {
	if xs == nil {
		return []int{}
	}
	return xs
}
func nonNilS(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
func nonNilErrs(xs []Error) []Error {
	if xs == nil {
		return []Error{}
	}
	return xs
}
