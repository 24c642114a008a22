package webui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestActionsFromOtherSitesRefused: an action a browser sends from a
// page of another site, as a GET link (an <img> would do) or a form, is
// refused with 403 before the backend is touched; the same action from
// our own pages, a typed URL or a client without browser headers acts.
func TestActionsFromOtherSitesRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method string
		headers      map[string]string
		refused      bool
	}{
		{"img from another site", "GET", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"}, true},
		{"link from another port", "GET", map[string]string{"Sec-Fetch-Site": "same-site"}, true},
		{"form from another site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, true},
		{"older browser, other Origin", "GET", map[string]string{"Origin": "http://evil.example"}, true},
		{"our own link", "GET", map[string]string{"Sec-Fetch-Site": "same-origin"}, false},
		{"our own form", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, false},
		{"older browser, our Origin", "POST", map[string]string{"Origin": "http://example.com"}, false},
		{"typed URL", "GET", map[string]string{"Sec-Fetch-Site": "none"}, false},
		{"curl", "GET", nil, false},
	}
	for _, c := range cases {
		b := threeProcs(t)
		h := newTestHandler(b)
		target, body := "/index.html?action=stop&processname=web", ""
		if c.method == http.MethodPost {
			target, body = "/index.html", "action=stop&processname=web"
		}
		req := httptest.NewRequest(c.method, target, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c.refused {
			if rec.Code != http.StatusForbidden || b.StateOf("web") != "RUNNING" || len(b.Calls()) != 0 {
				t.Errorf("%s: status %d, web %s, calls %q; want 403 and nothing done", c.name, rec.Code, b.StateOf("web"), b.Calls())
			}
			continue
		}
		if rec.Code != http.StatusMovedPermanently || b.StateOf("web") != "STOPPED" {
			t.Errorf("%s: status %d, web %s; want the stop done", c.name, rec.Code, b.StateOf("web"))
		}
	}
}

// TestPagesRefuseFraming: pages and the redirects after actions forbid
// being framed by any site (clickjacking of the Stop buttons).
func TestPagesRefuseFraming(t *testing.T) {
	t.Parallel()
	h := newTestHandler(threeProcs(t))
	for _, target := range []string{"/", "/index.html", "/index.html?action=refresh", "/tail.html?processname=web"} {
		resp, _ := do(t, h, http.MethodGet, target, nil)
		if got := resp.Header.Get("Content-Security-Policy"); got != "frame-ancestors 'none'" {
			t.Errorf("%s: status %d, Content-Security-Policy %q", target, resp.StatusCode, got)
		}
	}
}
