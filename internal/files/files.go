// Package files writes the small files whose content must survive a crash
// whole.
package files

import "os"

// WriteTemp writes b to a new file in dir, named after pattern as by
// os.CreateTemp, and syncs it, ready to be put in place by a rename or a
// link. It returns the file's path; on error it leaves no file behind.
func WriteTemp(dir, pattern string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
