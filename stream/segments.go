package stream

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// segments are the files that hold the embedded log's record bytes: one
// stream shared by all partitions, appended in order and never rewritten,
// cut into files of a fixed size so that retention removes whole files.
// Badger holds the index (where each record is) and all other state.
//
// A frame is the record's length (4 bytes), the CRC-32C of the record (4
// bytes), then the record as encodeRecord lays it out. Files are created at
// their full size, so appending never changes a file's size and a sync
// writes only data.
type segments struct {
	dir  string
	size int64

	mu    sync.RWMutex // guards files
	files map[uint64]*os.File

	cur     atomic.Uint64 // the file being appended to
	curPos  int64         // where, the writer's own
	curSize int64         // its size, the writer's own
	buf     []byte        // the writer's buffer, kept between batches
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const frameHeader = 8

// errSegmentGone is read's error for a record whose file retention removed.
var errSegmentGone = errors.New("segment removed by retention")

// segRef says where a record's frame is: its file, its position and the
// frame's length.
type segRef struct {
	seg uint64
	pos int64
	n   int64
}

func (r segRef) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 20), r.seg)
	b = binary.BigEndian.AppendUint64(b, uint64(r.pos))
	return binary.BigEndian.AppendUint32(b, uint32(r.n))
}

func decodeSegRef(b []byte) (segRef, error) {
	if len(b) != 20 {
		return segRef{}, errCorrupt
	}
	return segRef{seg: binary.BigEndian.Uint64(b), pos: int64(binary.BigEndian.Uint64(b[8:])),
		n: int64(binary.BigEndian.Uint32(b[16:]))}, nil
}

// A run is the value of an index entry: where the frames of a
// partition's records appended together are, in offset order. It is 'R',
// the count, then per frame the segment (a delta from the previous
// frame's), the position (the gap after the previous frame's end, or the
// position itself in a new segment) and the length, as uvarints: 3 to 5
// bytes a record, where an entry per record took 44 and a Badger write.
// A log written before runs holds one 20-byte segRef per entry, which
// decodeRun reads as a run of one (its first byte, the high byte of a
// segment number, is never 'R').
const runTag = 'R'

func encodeRun(refs []segRef) []byte {
	b := append(make([]byte, 0, 4+4*len(refs)), runTag)
	b = binary.AppendUvarint(b, uint64(len(refs)))
	var prev segRef
	for i, r := range refs {
		b = binary.AppendUvarint(b, r.seg-prev.seg)
		if i == 0 || r.seg != prev.seg {
			b = binary.AppendUvarint(b, uint64(r.pos))
		} else {
			b = binary.AppendUvarint(b, uint64(r.pos-prev.pos-prev.n))
		}
		b = binary.AppendUvarint(b, uint64(r.n))
		prev = r
	}
	return b
}

// decodeRun appends the frames of an index entry to dst.
func decodeRun(dst []segRef, v []byte) ([]segRef, error) {
	if len(v) == 0 || v[0] != runTag {
		r, err := decodeSegRef(v)
		return append(dst, r), err
	}
	v = v[1:]
	next := func() uint64 {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			v = nil
			return 1 << 63 // fails every check below
		}
		v = v[n:]
		return x
	}
	count := next()
	if count == 0 || count > uint64(len(v)) {
		return dst, errCorrupt
	}
	var prev segRef
	for i := range count {
		d, pos, n := next(), next(), next()
		if d >= 1<<63 || pos >= 1<<62 || n == 0 || n >= 1<<32 {
			return dst, errCorrupt
		}
		r := segRef{seg: prev.seg + d, pos: int64(pos), n: int64(n)}
		if i > 0 && d == 0 {
			r.pos += prev.pos + prev.n
		}
		dst = append(dst, r)
		prev = r
	}
	if len(v) != 0 {
		return dst, errCorrupt
	}
	return dst, nil
}

// openSegments opens the segment files in dir and resumes appending at
// (seg, pos), where the last synced write ended. Files after seg hold
// nothing that was acknowledged and are removed.
func openSegments(dir string, size int64, seg uint64, pos int64) (*segments, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	s := &segments{dir: dir, size: size, files: map[uint64]*os.File{}, curPos: pos}
	s.cur.Store(seg)
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		id, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".seg"), 16, 64)
		if err != nil {
			continue
		}
		if id > seg {
			if err := os.Remove(name); err != nil {
				return nil, err
			}
			continue
		}
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			s.close()
			return nil, err
		}
		s.files[id] = f
	}
	if f := s.files[seg]; f == nil {
		if _, err := s.create(seg, size); err != nil {
			s.close()
			return nil, err
		}
		s.curSize = size
	} else if fi, err := f.Stat(); err != nil {
		s.close()
		return nil, err
	} else {
		s.curSize = fi.Size()
	}
	return s, nil
}

func (s *segments) path(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x.seg", id))
}

// create makes segment id with room for size bytes.
func (s *segments) create(id uint64, size int64) (*os.File, error) {
	f, err := os.OpenFile(s.path(id), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	// The new file must survive a crash along with what is written to it.
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	s.mu.Lock()
	s.files[id] = f
	s.mu.Unlock()
	return f, nil
}

// appendFrames writes the frames of recs at the end of the stream,
// rolling to a new file when the current one is full, and returns where
// each frame went and the files written to. It does not sync. Only the
// writer calls it; records are encoded straight into a buffer it keeps
// from one batch to the next.
func (s *segments) appendFrames(recs []*Record) ([]segRef, []*os.File, error) {
	refs := make([]segRef, len(recs))
	var written []*os.File
	buf := s.buf[:0]
	start := s.curPos
	cur := s.cur.Load()
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		s.mu.RLock()
		f := s.files[cur]
		s.mu.RUnlock()
		if _, err := f.WriteAt(buf, start); err != nil {
			return err
		}
		if !slices.Contains(written, f) {
			written = append(written, f)
		}
		buf = buf[:0]
		return nil
	}
	for i, r := range recs {
		n := int64(frameHeader + encodedSize(r))
		if s.curPos+n > s.curSize {
			if err := flush(); err != nil {
				return nil, nil, err
			}
			size := max(s.size, n)
			if _, err := s.create(cur+1, size); err != nil {
				return nil, nil, err
			}
			cur++
			s.cur.Store(cur)
			s.curPos, s.curSize, start = 0, size, 0
		}
		at := len(buf)
		buf = appendRecord(append(buf, make([]byte, frameHeader)...), r)
		rec := buf[at+frameHeader:]
		binary.BigEndian.PutUint32(buf[at:], uint32(len(rec)))
		binary.BigEndian.PutUint32(buf[at+4:], crc32.Checksum(rec, crcTable))
		refs[i] = segRef{seg: cur, pos: s.curPos, n: n}
		s.curPos += n
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	if cap(buf) <= maxKeptBuffer {
		s.buf = buf
	}
	return refs, written, nil
}

// maxKeptBuffer bounds the write buffer kept between batches.
const maxKeptBuffer = 8 << 20

// syncFiles makes what was written to files durable.
func syncFiles(files []*os.File) error {
	var errs []error
	for _, f := range files {
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			errs = append(errs, fmt.Errorf("cannot sync %s: %w", filepath.Base(f.Name()), err))
		}
	}
	return errors.Join(errs...)
}

// Frames at most readGap apart in a file are read together by readMany,
// in reads of at most readSpan bytes. No gap is read across: in `wasp
// run` the topics' frames interleave, and reading across gaps of up to
// 4 KB (other topics' records) cost the whole pipeline ~7 % more CPU than
// reading each run of touching frames apart (`wasp bench --rate 500`).
const (
	readGap  = 0
	readSpan = 256 << 10
)

// readMany returns the records whose frames refs point at, in refs'
// order, with the error of each record that could not be read
// (errSegmentGone, errCorrupt or the read's). Frames side by side in a
// file are read with one system call: a consumer of several partitions
// finds the records a group of appends wrote together. The records alias
// the buffers read.
func (s *segments) readMany(refs []segRef) ([]*Record, []error) {
	recs, errs := make([]*Record, len(refs)), make([]error, len(refs))
	order := make([]int, len(refs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(refs[a].seg, refs[b].seg), cmp.Compare(refs[a].pos, refs[b].pos))
	})
	s.mu.RLock() // held while reading, so that retention does not close a file
	defer s.mu.RUnlock()
	for lo := 0; lo < len(order); {
		first := refs[order[lo]]
		end, hi := first.pos+first.n, lo+1
		for ; hi < len(order); hi++ {
			r := refs[order[hi]]
			if r.seg != first.seg || r.pos-end > readGap || r.pos+r.n-first.pos > readSpan {
				break
			}
			end = max(end, r.pos+r.n)
		}
		var buf []byte
		err := errSegmentGone
		if f := s.files[first.seg]; f != nil {
			buf = make([]byte, end-first.pos)
			_, err = f.ReadAt(buf, first.pos)
		}
		for _, i := range order[lo:hi] {
			if err != nil {
				errs[i] = err
				continue
			}
			recs[i], errs[i] = decodeFrame(buf[refs[i].pos-first.pos:][:refs[i].n])
		}
		lo = hi
	}
	return recs, errs
}

// decodeFrame checks a frame's length and checksum and decodes its record.
func decodeFrame(b []byte) (*Record, error) {
	if len(b) < frameHeader {
		return nil, errCorrupt
	}
	n := binary.BigEndian.Uint32(b)
	if int(n)+frameHeader != len(b) || crc32.Checksum(b[frameHeader:], crcTable) != binary.BigEndian.Uint32(b[4:]) {
		return nil, errCorrupt
	}
	return decodeRecord(b[frameHeader:])
}

// removeBefore deletes the segment files before id, which hold no live
// record, and never the one being written.
func (s *segments) removeBefore(id uint64) (int, error) {
	s.mu.Lock()
	var gone []*os.File
	for seg, f := range s.files {
		if seg < id && seg != s.cur.Load() {
			gone = append(gone, f)
			delete(s.files, seg)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, f := range gone {
		f.Close()
		if err := os.Remove(f.Name()); err != nil {
			errs = append(errs, err)
		}
	}
	return len(gone), errors.Join(errs...)
}

func (s *segments) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for id, f := range s.files {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
		delete(s.files, id)
	}
	return errors.Join(errs...)
}
