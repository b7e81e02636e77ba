package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildVersion is what the Go toolchain stamped into the binary: the
// module version and, when built from a checkout with go build or go
// install, the VCS revision. go run stamps neither.
type buildVersion struct {
	Version  string `json:"version"`            // the module version, or "(devel)"
	Revision string `json:"revision,omitempty"` // vcs.revision
	Time     string `json:"time,omitempty"`     // vcs.time, the revision's commit time
	Modified bool   `json:"modified,omitempty"` // vcs.modified: built from a tree with changes
	Go       string `json:"go"`                 // the toolchain
}

// readVersion reads the binary's build information.
func readVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok)
}

// versionOf returns the version that bi, the build information, tells.
func versionOf(bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: "(devel)", Go: runtime.Version()}
	if !ok || bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// stamped reports whether the toolchain stamped a version or a revision.
func (v buildVersion) stamped() bool { return v.Version != "(devel)" || v.Revision != "" }

// String is the line `gatehouse version` and `gatehouse --version` print.
func (v buildVersion) String() string {
	if !v.stamped() {
		return "gatehouse (devel): no version or VCS revision stamped (built with go run, or outside a checkout; " +
			"go build or go install in a checkout stamps them), " + v.Go
	}
	var b strings.Builder
	b.WriteString("gatehouse " + v.Version)
	var details []string
	if v.Revision != "" {
		rev := v.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		details = append(details, "revision "+rev)
	}
	if v.Time != "" {
		details = append(details, v.Time)
	}
	if v.Modified {
		details = append(details, "modified")
	}
	details = append(details, v.Go)
	fmt.Fprintf(&b, " (%s)", strings.Join(details, ", "))
	return b.String()
}

func (e *env) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version and VCS revision this binary was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			if jsonFlag(cmd) {
				return e.printJSON(v)
			}
			fmt.Fprintln(e.stdout, v)
			return nil
		},
	}
}
