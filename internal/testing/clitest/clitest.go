// Package clitest builds a command once per test binary and runs it, for
// the CLI tests, which run the built binary as a user does.
package clitest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles the main package in the current directory into a
// temporary directory; call cleanup when the tests are done.
func Build(name string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, name)
	if err := build(bin, "."); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// BuildFor compiles the main package pkg (an import path, or a path
// relative to the test's directory) into the test's temporary directory,
// for a test of another package that runs the command.
func BuildFor(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if err := build(bin, pkg); err != nil {
		t.Fatal(err)
	}
	return bin
}

func build(bin, pkg string) error {
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return &BuildError{Err: err, Output: out}
	}
	return nil
}

// BuildError is a failed build, with the compiler's output.
type BuildError struct {
	Err    error
	Output []byte
}

func (e *BuildError) Error() string { return "build: " + e.Err.Error() + "\n" + string(e.Output) }

// Result is what one run printed and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs name with args in dir, env added to the test's environment.
func Run(t testing.TB, dir string, env []string, name string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return Result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// Want fails the test unless the run exited with code, showing its output.
func (r Result) Want(t testing.TB, code int, args ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.Code, code, r.Stdout, r.Stderr)
	}
}
