package chexprompt

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrUnparseable is returned (wrapped) when a judge answer lacks a count line.
var ErrUnparseable = errors.New("chexprompt: judge answer has no usable counts")

var (
	// A pair in either bracket style, or bare: "(A, 1)", "[b: 0]", "(c) 2",
	// "[D] - 1", "E: 0", "(a)=3".
	rePair = regexp.MustCompile(`(?i)(?:[\(\[]\s*([a-f])\s*[,:;=\-]\s*(\d+)\s*[\)\]]|[\(\[]\s*([a-f])\s*[\)\]]\s*[:=\-,]?\s*(\d+)|\b([a-f])\s*[:=]\s*(\d+)\b)`)
	reNone = regexp.MustCompile(`(?i)\b(none|no errors?|nil)\b`)
)

// ParseAnswer reads a judge answer in the strict two-line format, tolerating
// either bracket style, markdown, extra prose around the lines, lower-case
// letters and missing zero pairs (a line that says "none" counts as all zero).
// Both lines must be present: otherwise it returns ErrUnparseable and the
// judge is asked again.
func ParseAnswer(answer string) (sig, insig Counts, err error) {
	var haveSig, haveInsig bool
	lines := strings.Split(strings.ReplaceAll(answer, "\r", ""), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.ToLower(strings.Trim(lines[i], " \t*#>-_`"))
		var target *Counts
		switch {
		case strings.Contains(line, "insignificant") || strings.Contains(line, "not significant") || strings.Contains(line, "non-significant") || strings.Contains(line, "nonsignificant"):
			if haveInsig {
				continue // keep the first answer when prose repeats a label
			}
			target = &insig
		case strings.Contains(line, "significant"):
			if haveSig {
				continue
			}
			target = &sig
		default:
			continue
		}
		// The counts follow the label on the same line, or on the next
		// non-empty line when the label stands alone.
		body := line
		if idx := strings.Index(body, "significant"); idx >= 0 {
			body = body[idx+len("significant"):]
		}
		pairs := rePair.FindAllStringSubmatch(body, -1)
		if len(pairs) == 0 && !reNone.MatchString(body) && i+1 < len(lines) {
			next := strings.ToLower(strings.TrimSpace(lines[i+1]))
			if !strings.Contains(next, "significant") {
				body = next
				pairs = rePair.FindAllStringSubmatch(body, -1)
				if len(pairs) > 0 || reNone.MatchString(body) {
					i++
				}
			}
		}
		if len(pairs) == 0 && !reNone.MatchString(body) {
			continue
		}
		seen := map[string]bool{}
		var c Counts
		for _, p := range pairs {
			letter, num := p[1], p[2]
			if letter == "" {
				letter, num = p[3], p[4]
			}
			if letter == "" {
				letter, num = p[5], p[6]
			}
			letter = strings.ToUpper(letter)
			if seen[letter] {
				return Counts{}, Counts{}, fmt.Errorf("%w: letter %s twice on one line", ErrUnparseable, letter)
			}
			seen[letter] = true
			n, err := strconv.Atoi(num)
			if err != nil || n > 100 {
				return Counts{}, Counts{}, fmt.Errorf("%w: count %q", ErrUnparseable, num)
			}
			c.Add(ErrorTypes[letter[0]-'A'], n)
		}
		*target = c
		if target == &sig {
			haveSig = true
		} else {
			haveInsig = true
		}
	}
	if !haveSig || !haveInsig {
		missing := "significant"
		if haveSig {
			missing = "insignificant"
		}
		return Counts{}, Counts{}, fmt.Errorf("%w: no %s line", ErrUnparseable, missing)
	}
	return sig, insig, nil
}
