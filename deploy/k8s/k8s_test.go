// Package k8s holds radraft's Kubernetes manifests (the *.yaml beside this
// file) and the test that validates them with kubeconform, offline, against
// JSON schemas generated here from the OpenAPI spec of a pinned Kubernetes
// release (the k8s.io/kubernetes module, fetched through the Go module
// proxy and checked against its pinned go.sum hash).
package k8s

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/radraft/radraft/internal/testpeers"
)

// The Kubernetes release whose API the manifests are validated against, and
// its module hash (as go.sum would record it).
const (
	k8sModule = "k8s.io/kubernetes@v1.35.0"
	k8sSum    = "h1:PUOojD8c8E3csMP5NX+nLLne6SGqZjrYCscptyBfWMY="
)

// kinds the manifests use; a manifest of another kind fails validation
// (its schema is missing) until it is added here.
var kinds = []struct{ group, version, kind string }{
	{"apps", "v1", "Deployment"},
	{"", "v1", "Service"},
	{"", "v1", "PersistentVolumeClaim"},
	{"", "v1", "Secret"},
}

func TestManifestsValidate(t *testing.T) {
	kc := kubeconform(t)
	schemas := generateSchemas(t)
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 4 {
		t.Fatalf("manifests: %v", files)
	}
	out, err := runKubeconform(kc, schemas, files...)
	if err != nil {
		t.Fatalf("kubeconform: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Invalid: 0, Errors: 0") || strings.Contains(out, "Skipped: ") && !strings.Contains(out, "Skipped: 0") {
		t.Fatalf("kubeconform summary:\n%s", out)
	}
	t.Logf("kubeconform: %s", strings.TrimSpace(out))

	// The same validation refuses a misspelt field, a wrongly typed value
	// and a kind without a schema.
	tmp := t.TempDir()
	worker, err := os.ReadFile("worker-gpu.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"misspelt.yaml": strings.Replace(string(worker), "readinessProbe:", "readinesProbe:", 1),
		"type.yaml":     strings.Replace(string(worker), "replicas: 1", "replicas: one", 1),
		"kind.yaml":     "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: x}\nspec: {schedule: '* * * * *', jobTemplate: {}}\n",
	}
	for name, body := range bad {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := runKubeconform(kc, schemas, p)
		if err == nil {
			t.Errorf("%s passed validation:\n%s", name, out)
		}
		t.Logf("%s refused: %s", name, strings.TrimSpace(out))
	}
}

func runKubeconform(kc, schemas string, files ...string) (string, error) {
	args := append([]string{"-strict", "-summary", "-schema-location", filepath.Join(schemas, "{{.ResourceKind}}{{.KindSuffix}}.json")}, files...)
	out, err := exec.Command(kc, args...).CombinedOutput()
	return string(out), err
}

// kubeconform is the binary scripts/install-deps.sh installs into
// .cache/bin (go install, pinned version), or one on PATH.
func kubeconform(t *testing.T) string {
	p, _ := filepath.Abs(filepath.Join("..", "..", ".cache", "bin", "kubeconform"))
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return testpeers.Require(t, "kubeconform")
}

// generateSchemas writes one standalone, strict JSON schema per kind (named
// as kubeconform looks them up: deployment-apps-v1.json, service-v1.json)
// from the pinned release's api/openapi-spec/swagger.json: every $ref
// inlined, additionalProperties false on every object with properties (so
// an unknown field is an error), IntOrString and Quantity as the union of
// types that YAML may carry.
func generateSchemas(t *testing.T) string {
	out, err := exec.Command("go", "mod", "download", "-json", k8sModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", k8sModule, err)
	}
	var mod struct{ Dir, Sum string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	if mod.Sum != k8sSum {
		t.Fatalf("%s has hash %s, pinned %s", k8sModule, mod.Sum, k8sSum)
	}
	raw, err := os.ReadFile(filepath.Join(mod.Dir, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Definitions map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	spec.Definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	spec.Definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	dir := t.TempDir()
	for _, k := range kinds {
		name := definitionOf(spec.Definitions, k.group, k.version, k.kind)
		if name == "" {
			t.Fatalf("%s/%s %s is not in %s's OpenAPI spec", k.group, k.version, k.kind, k8sModule)
		}
		schema := inline(spec.Definitions, spec.Definitions[name], map[string]bool{name: true})
		b, err := json.Marshal(schema)
		if err != nil {
			t.Fatal(err)
		}
		suffix := "-" + k.version
		if k.group != "" {
			suffix = "-" + strings.Split(k.group, ".")[0] + suffix
		}
		if err := os.WriteFile(filepath.Join(dir, strings.ToLower(k.kind)+suffix+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// definitionOf finds the definition tagged with the group, version and kind.
func definitionOf(defs map[string]any, group, version, kind string) string {
	for name, d := range defs {
		m, _ := d.(map[string]any)
		gvks, _ := m["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gm, _ := g.(map[string]any)
			if gm["group"] == group && gm["version"] == version && gm["kind"] == kind {
				return name
			}
		}
	}
	return ""
}

// inline copies node with every #/definitions/ reference replaced by the
// (inlined) definition; a reference back into its own ancestry (only
// recursive schemas like JSONSchemaProps) becomes the empty schema.
func inline(defs map[string]any, node any, seen map[string]bool) any {
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/definitions/")
			if seen[name] {
				return map[string]any{}
			}
			seen[name] = true
			defer delete(seen, name)
			return inline(defs, defs[name], seen)
		}
		out := make(map[string]any, len(n)+1)
		for k, v := range n {
			out[k] = inline(defs, v, seen)
		}
		if _, hasProps := n["properties"]; hasProps {
			if _, set := n["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = inline(defs, v, seen)
		}
		return out
	}
	return node
}
