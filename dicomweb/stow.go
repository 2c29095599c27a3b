package dicomweb

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/drafts"
)

// partReadTimeout: within a STOW-RS request, every read of the body must
// make progress within this (a large upload may take as long as it keeps
// sending, like a C-STORE).
const partReadTimeout = 60 * time.Second

// Failure reasons (PS3.18 I.2.2, the C-STORE statuses) for parts that are
// not even a Part 10 file.
const reasonCannotUnderstand = dimse.StatusCannotUnderstand

// stow: STOW-RS POST /studies, multipart/related; type="application/dicom".
// Each part is a Part 10 file: its meta (group 0002) is read here (at most
// 64 KiB), the dataset streams into Ingest, and the answer lists every
// part as referenced (stored) or failed with the C-STORE status as reason.
func (h *handlers) stow(c *gin.Context) {
	if h.s.Ingest == nil {
		fail(c, http.StatusServiceUnavailable, "unavailable", "this node does not receive DICOM (no DICOM listener runs here)")
		return
	}
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/related" || params["boundary"] == "" ||
		params["type"] != "" && params["type"] != "application/dicom" {
		fail(c, http.StatusUnsupportedMediaType, "unsupported_media_type", `STOW-RS takes multipart/related; type="application/dicom"`)
		return
	}
	rc := http.NewResponseController(c.Writer)
	body := &progressReader{r: c.Request.Body, extend: func() { rc.SetReadDeadline(time.Now().Add(partReadTimeout)) }} //nolint:errcheck
	mr := multipart.NewReader(body, params["boundary"])
	origin := scp.Origin{CallingAE: "STOW-RS", RemoteAddr: c.ClientIP()}
	base := baseURL(c)
	resp := attrs{}
	var stored, failed []attrs
	studies := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(stored)+len(failed) == 0 {
				fail(c, http.StatusBadRequest, "bad_request", "the body is not a readable multipart/related message")
				return
			}
			break // a body cut short: answer for the parts read
		}
		res, err := h.storePart(c.Request.Context(), part, origin)
		part.Close()
		if err != nil {
			h.log().Warn("dicomweb: STOW-RS part unreadable", "err", err)
			break
		}
		item := attrs{}
		item.str(0x0008, 0x1150, "UI", res.sopClass)
		item.str(0x0008, 0x1155, "UI", res.sopInst)
		if res.status == dimse.StatusSuccess {
			item.str(0x0008, 0x1190, "UR", base+"/studies/"+res.study+"/series/"+res.series+"/instances/"+res.sopInst)
			stored = append(stored, item)
			studies[res.study] = true
		} else {
			item.num(0x0008, 0x1197, "US", int(res.status))
			failed = append(failed, item)
		}
	}
	if len(stored)+len(failed) == 0 {
		fail(c, http.StatusBadRequest, "bad_request", "no instance in the request")
		return
	}
	if !h.m.Audit(c, "dicomweb.store", singleKey(studies), fmt.Sprintf("stored:%d failed:%d", len(stored), len(failed))) {
		return
	}
	if len(studies) == 1 {
		resp.str(0x0008, 0x1190, "UR", base+"/studies/"+singleKey(studies))
	}
	if len(stored) > 0 {
		resp.seq(0x0008, 0x1199, stored...)
	}
	if len(failed) > 0 {
		resp.seq(0x0008, 0x1198, failed...)
	}
	status := http.StatusOK
	switch {
	case len(stored) == 0:
		status = http.StatusConflict
	case len(failed) > 0:
		status = http.StatusAccepted
	}
	c.Header("Content-Type", "application/dicom+json")
	c.JSON(status, resp)
}

func singleKey(m map[string]bool) string {
	if len(m) != 1 {
		return ""
	}
	for k := range m {
		return k
	}
	return ""
}

type partResult struct {
	status                           uint16
	sopClass, sopInst, study, series string
}

// storePart stores one part. err means the request body itself failed
// (the client went away); a bad part is a result with a failure status.
func (h *handlers) storePart(ctx context.Context, part *multipart.Part, o scp.Origin) (partResult, error) {
	if ct := part.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/dicom" {
			_, err := io.Copy(io.Discard, part)
			return partResult{status: dimse.StatusSOPClassNotSupported}, err
		}
	}
	br := bufio.NewReaderSize(part, 64<<10)
	m, err := readMeta(br)
	if err != nil {
		if _, derr := io.Copy(io.Discard, br); derr != nil {
			return partResult{}, derr
		}
		return partResult{status: reasonCannotUnderstand, sopClass: m.sopClass, sopInst: m.sopInst}, nil
	}
	status, _, err := h.s.Ingest.Ingest(br, m.sopClass, m.sopInst, m.ts, o)
	if err != nil {
		return partResult{}, err
	}
	res := partResult{status: status, sopClass: m.sopClass, sopInst: m.sopInst}
	if status == dimse.StatusSuccess {
		// Where it went: the index knows (the dataset's study and series).
		list, err := h.s.Store.SearchInstances(ctx, drafts.ArchiveQuery{SOPInstanceUIDs: []string{m.sopInst}})
		if err == nil && len(list) == 1 {
			res.study, res.series = list[0].StudyUID, list[0].SeriesUID
		}
	}
	return res, nil
}

type meta struct{ sopClass, sopInst, ts string }

// readMeta reads a Part 10 preamble, "DICM" and the group 0002 elements
// (Explicit VR Little Endian), leaving br at the dataset's first byte.
// Every length is checked against what is left of a 64 KiB budget before
// anything is read.
func readMeta(br *bufio.Reader) (meta, error) {
	var m meta
	head := make([]byte, 132)
	if _, err := io.ReadFull(br, head); err != nil || string(head[128:]) != "DICM" {
		return m, errors.New("not a Part 10 file")
	}
	budget := 64 << 10
	for {
		h, err := br.Peek(8)
		if err != nil || binary.LittleEndian.Uint16(h) != 0x0002 {
			break // end of the meta group (or of a dataset-less file)
		}
		elem := binary.LittleEndian.Uint16(h[2:])
		vr := string(h[4:6])
		hdrLen, n := 8, int(binary.LittleEndian.Uint16(h[6:]))
		switch vr {
		case "OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV":
			x, err := br.Peek(12)
			if err != nil {
				return m, errors.New("truncated meta element")
			}
			hdrLen, n = 12, int(binary.LittleEndian.Uint32(x[8:]))
		}
		if n < 0 || hdrLen+n > budget {
			return m, errors.New("file meta too long")
		}
		budget -= hdrLen + n
		if _, err := br.Discard(hdrLen); err != nil {
			return m, err
		}
		v := make([]byte, n)
		if _, err := io.ReadFull(br, v); err != nil {
			return m, err
		}
		s := strings.TrimRight(string(v), "\x00 ")
		switch elem {
		case 0x0002:
			m.sopClass = s
		case 0x0003:
			m.sopInst = s
		case 0x0010:
			m.ts = s
		}
	}
	if m.sopClass == "" || m.sopInst == "" || m.ts == "" {
		return m, errors.New("file meta without SOP class, instance or transfer syntax")
	}
	return m, nil
}

// progressReader calls extend before every read, so each read gets a
// fresh deadline.
type progressReader struct {
	r      io.Reader
	extend func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	p.extend()
	return p.r.Read(b)
}
