/* Console: what a dispatcher or supervisor can do to the open case — exactly the case's allowed actions, each
   with the form it needs; dispatching offers the router's top suggestions and why (travel, queue, handling time,
   lateness), or a department. Refusals show the server's message. Uses common.js (UO); exposes `CaseActions`. */
(function () {
  "use strict";
  const { esc, getJSON, postJSON, vocabulary } = UO;
  // Allowed action → [API verb, fields ("!" = required), fixed values]. Field-only actions are not offered here.
  const FORMS = {
    verify: ["verify", ["note"], { valid: true }],
    invalidate: ["verify", ["note!"], { valid: false }],
    file: ["file", ["priority"], {}],
    dispatch: ["dispatch", ["assignee"], {}],
    return: ["return", ["reason!"], {}],
    approve_delay: ["approve-delay", ["note"], {}],
    reject_delay: ["reject-delay", ["note"], {}],
    suspend: ["suspend", ["reason!"], {}],
    resume: ["resume", [], {}],
    void: ["void", ["reason!"], {}],
    merge: ["merge", ["into!"], {}],
    check_pass: ["check", ["note"], { passed: true }],
    check_fail: ["check", ["note!"], { passed: false }],
  };
  const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => vars[k]);
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  async function assigneeField(caseId, t) {
    const [cands, depts] = await Promise.all([getJSON(`/api/v1/cases/${caseId}/candidates`),
      getJSON("/api/v1/departments")]);
    const rows = cands.candidates.map((c, i) => `<label class="pick"><input type="radio" name="assignee_id"
        value="${c.worker.id}" ${i === 0 ? "checked" : ""}> <b>${esc(c.worker.name)}</b> · ${esc(c.tier_label)}
        <span class="why">${esc(fmt(t.why, { km: c.km, travel: c.minutes.travel, workload: c.minutes.workload,
          handle: c.minutes.handle, lateness: c.minutes.lateness }))}</span></label>`).join("");
    return `<fieldset class="picks"><legend>${esc(t.suggested)}</legend>
      ${rows || `<p class="muted">${esc(cands.waiting || t.nobody)}</p>`}
      <label>${esc(t.department)} <select name="department_id"><option value="">—</option>
        ${depts.map((d) => `<option value="${d.id}">${esc(d.name)}</option>`).join("")}</select></label></fieldset>`;
  }

  /** 合并: the open cases of the same category nearby are offered; a number can still be typed. */
  async function mergeField(c, t) {
    const [lon, lat] = c.geometry.coordinates;
    const near = await getJSON(`/api/v1/nearby?category=${encodeURIComponent(c.properties.category)}&lon=${lon}&lat=${lat}`)
      .catch(() => []);
    const others = near.filter((k) => k.number !== c.properties.number);
    return `${others.length ? `<fieldset class="picks"><legend>${esc(t.merge_near)}</legend>${others.map((k, i) =>
      `<label class="pick"><input type="radio" name="pick_into" value="${esc(k.number)}" ${i === 0 ? "checked" : ""}>
        <b>${esc(k.number)}</b> · ${esc(k.status_label)} · ${k.distance_m} m</label>`).join("")}</fieldset>` : ""}
      <label>${esc(t.into)} <input name="into" maxlength="20" ${others.length ? "" : "required"}
        value="${others.length ? esc(others[0].number) : ""}"></label>`;
  }

  function field(name, t) {
    const key = name.replace("!", ""), required = name.endsWith("!") ? "required" : "";
    if (key === "priority") {
      return `<label>${esc(t.priority)} <select name="priority"><option value="">—</option>
        ${[1, 2, 3, 4].map((n) => `<option value="${n}">${n}</option>`).join("")}</select></label>`;
    }
    if (key === "into") return `<label>${esc(t.into)} <input name="into" ${required} maxlength="20"></label>`;
    return `<label>${esc(required ? t.reason : t.note)} <textarea name="${key}" rows="2" maxlength="500" ${required}></textarea></label>`;
  }

  /** Offer the actions of case `c` (a case detail Feature) in `box`; `done()` after one succeeded. */
  function render(box, c, t, done) {
    const p = c.properties;
    const offered = p.allowed_actions.filter((a) => FORMS[a]);
    if (p.status === "dispatched" && !offered.includes("dispatch")) offered.unshift("dispatch");
    if (!offered.length) { box.innerHTML = ""; return; }
    box.innerHTML = `<h3>${esc(t.actions)}</h3><div class="acts">${offered.map((a) =>
      `<button type="button" data-act="${a}">${esc(a === "dispatch" && p.status === "dispatched" ? t.reassign : vocabulary.action[a] || a)}</button>`).join("")}</div>
      <form class="act-form" hidden></form><p class="error" role="alert" hidden></p>`;
    const form = box.querySelector(".act-form"), error = box.querySelector(".error");
    box.querySelector(".acts").addEventListener("click", async (e) => {
      const action = e.target.dataset.act;
      if (!action) return;
      const [verb, fields, fixed] = FORMS[action];
      error.hidden = true;
      const inputs = await Promise.all(fields.map((f) => (f === "assignee" ? assigneeField(c.id, t)
        : f === "into!" ? mergeField(c, t) : field(f, t))));
      form.innerHTML = `${inputs.join("")}<button type="submit">${esc(t.send)}: ${esc(e.target.textContent)}</button>`;
      form.hidden = false;
      form.onchange = (ev) => { if (ev.target.name === "pick_into") form.elements.into.value = ev.target.value; };
      form.onsubmit = async (ev) => {
        ev.preventDefault();
        const values = { ...fixed, base_version: p.version, action_key: newKey() };
        new FormData(form).forEach((v, k) => { if (String(v).trim() && k !== "pick_into") values[k] = String(v).trim(); });
        if (values.department_id) delete values.assignee_id;  // a department chosen on purpose wins
        try {
          await postJSON(`/api/v1/cases/${c.id}/${verb}`, values);
          form.hidden = true;
          done();
        } catch (err) {
          error.textContent = err.message; error.hidden = false;
        }
      };
    });
  }

  window.CaseActions = { render };
})();
