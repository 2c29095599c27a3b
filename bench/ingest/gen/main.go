// Command gen writes N distinct copies of the CR in suyashkumar/dicom's
// testdata (4.dcm, 7.5 MB) into a directory: each with a new SOP Instance,
// Study and Series UID of the same length, nothing else changed.
//
//	go run ./bench/ingest/gen DIR N
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/radraft/radraft/dicom/scp/scptest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen DIR N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "gen: N must be a positive number")
		os.Exit(2)
	}
	if err := os.MkdirAll(os.Args[1], 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if _, err := scptest.WriteCRCopies(os.Args[1], n); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
