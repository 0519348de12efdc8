import { useConsole, useStore } from '../hooks.ts';

/**
 * The desk's side panel: the CRM record of the request just accepted (a queue whose screen
 * pop opens here). A sandboxed frame: the CRM's scripts, forms and popups run, on its own
 * origin, but it can never navigate the console (no allow-top-navigation); the page's CSP
 * (frame-src) lets only the allow-listed CRM origins in.
 */
export function CrmPanel() {
  const c = useConsole();
  const { open } = useStore(c.work.crmPanel);
  if (!open) return null;
  const customer = c.work.heldRequest(open.requestId)?.customerName;
  const label = customer ? `CRM record of ${customer}` : 'CRM record';
  return (
    <aside className="crm-panel" aria-label="CRM record">
      <div className="crm-panel-head">
        <div>
          <div className="eyebrow">CRM record</div>
          <div className="crm-panel-origin">{new URL(open.url).host}</div>
        </div>
        <button
          type="button"
          className="button"
          onClick={() => c.work.crmPanel.close()}
          aria-label="Close the CRM record"
        >
          Close
        </button>
      </div>
      <iframe
        key={open.url}
        src={open.url}
        title={label}
        aria-label={label}
        sandbox="allow-scripts allow-same-origin allow-forms allow-popups"
        referrerPolicy="no-referrer"
      />
    </aside>
  );
}
