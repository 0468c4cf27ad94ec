package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The media commands of `wasp admin`.

// mediaKind is a file Meta takes for upload: the MIME type of an
// extension, and the type's size limit.
type mediaKind struct {
	ext, mime string
	limit     int64
}

// mediaKinds are the files Meta takes (WHATSAPP-CLOUD-API.md §4.5). A
// sticker (image/webp) may have 500 KB when animated but 100 KB when
// static: the larger limit is checked.
var mediaKinds = []mediaKind{
	{".aac", "audio/aac", 16 << 20}, {".amr", "audio/amr", 16 << 20}, {".mp3", "audio/mpeg", 16 << 20},
	{".m4a", "audio/mp4", 16 << 20}, {".ogg", "audio/ogg", 16 << 20}, {".opus", "audio/ogg", 16 << 20},
	{".txt", "text/plain", 100 << 20}, {".pdf", "application/pdf", 100 << 20},
	{".doc", "application/msword", 100 << 20}, {".xls", "application/vnd.ms-excel", 100 << 20},
	{".ppt", "application/vnd.ms-powerpoint", 100 << 20},
	{".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 100 << 20},
	{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 100 << 20},
	{".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", 100 << 20},
	{".jpg", "image/jpeg", 5 << 20}, {".jpeg", "image/jpeg", 5 << 20}, {".png", "image/png", 5 << 20},
	{".webp", "image/webp", 500 << 10},
	{".3gp", "video/3gpp", 16 << 20}, {".mp4", "video/mp4", 16 << 20},
}

// mediaType returns the MIME type of the file at path (mimeType when
// given, else the one of its extension) and Meta's size limit for it.
func mediaType(path, mimeType string) (string, int64, error) {
	base, _, _ := strings.Cut(mimeType, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	ext := strings.ToLower(filepath.Ext(path))
	var types []string
	for _, k := range mediaKinds {
		switch {
		case mimeType != "" && k.mime == base:
			return mimeType, k.limit, nil
		case mimeType == "" && k.ext == ext:
			return k.mime, k.limit, nil
		case !slices.Contains(types, k.mime):
			types = append(types, k.mime)
		}
	}
	if mimeType != "" {
		return "", 0, badInput("--type %q is not a type Meta takes: %s", mimeType, strings.Join(types, ", "))
	}
	return "", 0, badInput("cannot tell the type of %s from its extension: pass --type, one of %s", filepath.Base(path), strings.Join(types, ", "))
}

func mediaUpload(fs *flag.FlagSet) adminAction {
	file := fs.String("file", "", "the file to upload")
	typ := fs.String("type", "", "its MIME type (default: from the extension)")
	var size int64
	return adminAction{
		check: func() error {
			if *file == "" {
				return badInput("--file is required")
			}
			st, err := os.Stat(*file)
			if err != nil || !st.Mode().IsRegular() {
				return badInput("--file must be a readable file (got %q)", *file)
			}
			var limit int64
			if *typ, limit, err = mediaType(*file, *typ); err != nil {
				return err
			}
			if size = st.Size(); size > limit {
				return badInput("--file %s has %d bytes; Meta takes %s files of up to %s", filepath.Base(*file), size, *typ, byteSize(limit))
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			f, err := os.Open(*file)
			if err != nil {
				return nil, fmt.Errorf("cannot open the file: %w", err)
			}
			defer f.Close()
			id, err := t.graph.UploadMedia(ctx, t.token, t.phoneID, filepath.Base(*file), *typ, f)
			return &mediaFile{ID: id, File: *file, MimeType: *typ, Size: size}, err
		},
	}
}

// byteSize writes a limit of mediaKinds as Meta does: "5 MB", "500 KB".
func byteSize(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

// mediaID declares the --id flag of a media command and returns its check.
func mediaID(fs *flag.FlagSet) (*string, func() error) {
	id := fs.String("id", "", "the media id")
	return id, func() error { return checkGraphID("id", *id) }
}

func mediaGet(fs *flag.FlagSet) adminAction {
	id, check := mediaID(fs)
	return adminAction{check: check, run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		m, err := t.graph.MediaURL(ctx, t.token, *id, t.phoneID)
		if err != nil {
			return nil, err
		}
		return (*mediaView)(m), nil
	}}
}

func mediaDownload(fs *flag.FlagSet) adminAction {
	id, checkID := mediaID(fs)
	out := fs.String("out", "", "the file to write")
	return adminAction{
		check: func() error {
			if err := checkID(); err != nil {
				return err
			}
			if *out == "" {
				return badInput("--out is required: the file to write")
			}
			if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
				return badInput("--out %s: its directory does not exist", *out)
			}
			if st, err := os.Stat(*out); err == nil && st.IsDir() {
				return badInput("--out %s is a directory; give a file name", *out)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			m, err := t.graph.MediaURL(ctx, t.token, *id, t.phoneID)
			if err != nil {
				return nil, err
			}
			mimeType, n, err := downloadTo(ctx, t, m.URL, *out)
			return &mediaFile{ID: *id, File: *out, MimeType: mimeType, Size: n}, err
		},
	}
}

// downloadTo downloads mediaURL into a temporary file next to path, then
// renames it to path: a failed download leaves no partial file.
func downloadTo(ctx context.Context, t *adminTarget, mediaURL, path string) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".wasp-download-*")
	if err != nil {
		return "", 0, fmt.Errorf("cannot create the file: %w", err)
	}
	defer os.Remove(f.Name())
	mimeType, n, err := t.graph.DownloadMedia(ctx, t.token, mediaURL, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cannot write %s: %w", path, cerr)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return mimeType, n, err
}

func mediaDelete(fs *flag.FlagSet) adminAction {
	id, check := mediaID(fs)
	return adminAction{check: check, run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		err := t.graph.DeleteMedia(ctx, t.token, *id, t.phoneID)
		return done("media " + *id + " deleted"), err
	}}
}
