package backend

import (
	"fmt"
	"strings"
)

// FeatureMatrix renders the capabilities of several backends as a Markdown
// table, so the docs' feature matrix comes from the same struct the
// conformance suite reads (docs/FEATURES.md is generated from it).
func FeatureMatrix(caps []Capabilities) string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var sb strings.Builder
	sb.WriteString("| backend | transactional enqueue | wake-ups | cross-process events | needs promoter | needs pruner | durability |\n")
	sb.WriteString("|---|---|---|---|---|---|---|\n")
	for _, c := range caps {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s |\n", c.Name, yes(c.TxEnqueue), yes(c.Wake), yes(c.Broadcast),
			yes(c.NeedsPromoter), yes(c.NeedsPruner), strings.ReplaceAll(c.Durability, "|", "\\|"))
	}
	return sb.String()
}
