// Package chexprompt scores a candidate chest X-ray report against a
// reference report with CheXprompt's six error types, each split into
// clinically significant and clinically insignificant:
//
//	A false_positive_finding     a finding the reference does not have
//	B omission_finding           a finding of the reference left out
//	C incorrect_location         wrong side, zone or device position
//	D incorrect_severity         wrong grade (small vs large, mild vs severe)
//	E false_positive_comparison  a comparison with a prior the reference does not make
//	F omission_comparison        a change from a prior study the reference describes, left out
//
// Two engines implement Evaluator:
//
//   - Judge (engine "llm") asks any OpenAI-compatible chat-completions
//     endpoint (Azure OpenAI, vLLM, Ollama, llama.cpp server) with a prompt of
//     our own (definitions, significance rule, worked examples), temperature
//     0, and parses its two-line answer tolerantly. Patient identifiers are
//     stripped from both texts before they leave (StripIdentifiers). It has
//     timeouts, retries with backoff that honour Retry-After, and a rate and
//     concurrency limit.
//
//   - Offline (engine "offline") is deterministic, fast and needs no network:
//     a finding lexicon with NegEx-style negation and uncertainty, laterality,
//     zone, device position, severity and comparison language, whose
//     differences map onto the six types, with significance from the table in
//     significance.go. It is an APPROXIMATION of CheXprompt, not the GPT-4
//     judge of the paper: it cannot read findings outside its lexicon or
//     reason clinically. Its agreement with hand-written expectations is
//     measured by TestOfflineAgreement on testdata/pairs.jsonl; every result
//     it returns says so in its Note field.
//
// Measured agreement of the offline evaluator (go test ./chexprompt -run
// TestOfflineAgreement -v, or radraft eval --engine offline --in
// chexprompt/testdata/pairs.jsonl) against the hand-written expected counts
// of testdata/pairs.jsonl:
//
//	set                     pairs  whole-pair exact  tau-b total  tau-b significant  MAD total  MAD significant
//	development             46     0.978             0.958        1.000              0.022      0.000
//	holdout                 14     0.500             0.662        0.740              0.429      0.286
//	all                     60     0.867             0.856        0.924              0.117      0.067
//
// The development pairs were written together with the rules, so their
// figures are in-sample and flatter the evaluator; the holdout pairs were
// written before the rules were first run on them and never tuned against:
// read the holdout row as the honest (and, at 14 pairs, noisy) estimate.
// Neither set is ReXVal, and the expected counts are one engineer's reading
// of the CheXprompt definitions, not radiologists'. The paper's GPT-4 judge
// reached tau > 0.75 (total) and > 0.70 (significant) against six
// radiologists on ReXVal; these numbers are not comparable with that. A site
// should validate its engine on its own pairs with radraft eval.
//
// Agreement between an engine and human counts is measured with Kendall's
// τ-b and the mean absolute difference (KendallTauB, MeanAbsDiff), as in the
// paper's validation on ReXVal.
package chexprompt
