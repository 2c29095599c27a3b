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
// Agreement between an engine and human counts is measured with Kendall's
// τ-b and the mean absolute difference (KendallTauB, MeanAbsDiff), as in the
// paper's validation on ReXVal.
package chexprompt
