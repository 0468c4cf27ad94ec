package stream

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
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
// A frame is a 4-byte word, the CRC-32C of the body (4 bytes), then the
// body. The word is the body's length with its top bit set (placed): the
// body starts with the record's place (topic, partition, offset), so that
// the index can be rebuilt from the frames, then the record as
// appendRecord lays it out. Frames written before places have the bit
// clear and no place, and read the same.
//
// Files are created at their full size, sparse, so that appending never
// changes a file's size; a sync still commits the blocks a write
// allocated. Files written with zeros ahead of need would spare that
// commit (a 150 KB group's sync took 0.56–0.60 ms at the median in a
// zeroed file on the project's VM, 0.91–0.98 ms in a sparse one), but
// writing the zeros doubled the disk's writes, and the ingester's p99 at
// 64 connections went from 5.6–7.3 ms to 13–15 ms.
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

// placed marks a frame whose body starts with the record's place.
const placed = 1 << 31

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

// openSegments opens the segment files in dir. Appending starts once
// resume has said where.
func openSegments(dir string, size int64) (*segments, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	s := &segments{dir: dir, size: size, files: map[uint64]*os.File{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		id, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".seg"), 16, 64)
		if err != nil {
			continue
		}
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			s.close()
			return nil, err
		}
		s.files[id] = f
	}
	return s, nil
}

// resume makes at the place of the next write. Files after at's hold
// nothing acknowledged (scan read every frame of the stream that
// follows the index) and are removed. After a torn frame the rest of
// its file is zeroed, so that no stale frame follows the next ones.
func (s *segments) resume(at segRef, torn bool) error {
	for id, f := range s.files {
		if id > at.seg {
			f.Close()
			delete(s.files, id)
			if err := os.Remove(f.Name()); err != nil {
				return err
			}
		}
	}
	s.cur.Store(at.seg)
	s.curPos = at.pos
	if f := s.files[at.seg]; f == nil {
		if _, err := s.create(at.seg, s.size); err != nil {
			return err
		}
		s.curSize = s.size
	} else if fi, err := f.Stat(); err != nil {
		return err
	} else {
		s.curSize = fi.Size()
		if torn {
			return writeZeros(f, at.pos, s.curSize)
		}
	}
	return nil
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
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return nil, err
	}
	s.mu.Lock()
	s.files[id] = f
	s.mu.Unlock()
	return f, nil
}

// writeZeros fills f from from to to with zeros and syncs it.
func writeZeros(f *os.File, from, to int64) error {
	const chunk = 1 << 20
	zeros := make([]byte, chunk)
	for at := from; at < to; {
		n := min(chunk-at%chunk, to-at)
		if _, err := f.WriteAt(zeros[:n], at); err != nil {
			return err
		}
		at += n
	}
	return unix.Fdatasync(int(f.Fd()))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// appendFrames writes the frames of recs, placed, at the end of the stream,
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
		n := int64(frameHeader + placeSize(r) + encodedSize(r))
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
		buf = appendRecord(appendPlace(append(buf, make([]byte, frameHeader)...), r), r)
		body := buf[at+frameHeader:]
		binary.BigEndian.PutUint32(buf[at:], placed|uint32(len(body)))
		binary.BigEndian.PutUint32(buf[at+4:], crc32.Checksum(body, crcTable))
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
			recs[i], _, errs[i] = decodeFrame(buf[refs[i].pos-first.pos:][:refs[i].n])
		}
		lo = hi
	}
	return recs, errs
}

// decodeFrame checks a frame's length and checksum and decodes its record,
// with its partition and offset if the frame is placed, and its topic.
// The record aliases b.
func decodeFrame(b []byte) (r *Record, topic []byte, err error) {
	if len(b) < frameHeader {
		return nil, nil, errCorrupt
	}
	word := binary.BigEndian.Uint32(b)
	body := b[frameHeader:]
	if int(word&^placed) != len(body) || crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(b[4:]) {
		return nil, nil, errCorrupt
	}
	if word&placed == 0 {
		r, err = decodeRecord(body)
		return r, nil, err
	}
	topic, body, ok := readBytes(body)
	part, n := binary.Uvarint(body)
	if !ok || n <= 0 || part > math.MaxInt32 {
		return nil, nil, errCorrupt
	}
	off, m := binary.Uvarint(body[n:])
	if m <= 0 || off > math.MaxInt64 {
		return nil, nil, errCorrupt
	}
	if r, err = decodeRecord(body[n+m:]); err != nil {
		return nil, nil, err
	}
	r.Partition, r.Offset = int32(part), int64(off)
	return r, topic, nil
}

// placeSize is the length of r's place in its frame.
func placeSize(r *Record) int {
	return sizedLen(len(r.Topic)) + uvarintLen(uint64(r.Partition)) + uvarintLen(uint64(r.Offset))
}

func appendPlace(b []byte, r *Record) []byte {
	b = append(binary.AppendUvarint(b, uint64(len(r.Topic))), r.Topic...)
	b = binary.AppendUvarint(b, uint64(r.Partition))
	return binary.AppendUvarint(b, uint64(r.Offset))
}

// scan reads the stream's frames from from on, in order, and passes each
// placed one to fn, until the end: the end of the last file, a torn frame
// (a write never completed: torn is true), or a frame without a place
// (written before places, by a version whose appends were all indexed
// when acknowledged). A file whose frames end before the file does (a
// zero word) goes on in the next file. It returns where the last frame
// read ends.
func (s *segments) scan(from segRef, fn func(r *Record, topic []byte, at segRef) error) (end segRef, torn bool, err error) {
	end = from
	for seg, pos := from.seg, from.pos; s.files[seg] != nil; seg, pos = seg+1, 0 {
		f := s.files[seg]
		fi, err := f.Stat()
		if err != nil {
			return end, false, err
		}
		rd := bufio.NewReaderSize(io.NewSectionReader(f, pos, max(fi.Size()-pos, 0)), 1<<20)
		for {
			var hdr [frameHeader]byte
			if _, err := io.ReadFull(rd, hdr[:]); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break // the end of the file: on to the next
			} else if err != nil {
				return end, false, err
			}
			word := binary.BigEndian.Uint32(hdr[:])
			if word == 0 {
				break
			}
			n := int64(word &^ placed)
			if word&placed == 0 || pos+frameHeader+n > fi.Size() {
				return end, true, nil
			}
			frame := make([]byte, frameHeader+n)
			copy(frame, hdr[:])
			if _, err := io.ReadFull(rd, frame[frameHeader:]); err != nil {
				return end, false, err
			}
			r, topic, err := decodeFrame(frame)
			if err != nil {
				return end, true, nil
			}
			at := segRef{seg: seg, pos: pos, n: frameHeader + n}
			if err := fn(r, topic, at); err != nil {
				return end, false, err
			}
			pos += at.n
			end = segRef{seg: seg, pos: pos}
		}
	}
	return end, false, nil
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
