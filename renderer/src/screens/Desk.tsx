import { useConsole, useStore } from '../hooks.ts';
import { CrmPanel } from './CrmPanel.tsx';
import { QueuePane } from './QueuePane.tsx';
import { WorkPane } from './WorkPane.tsx';

/** The agent's main screen: the live queue on the left, the work in hand on the right, the CRM record beside it when open. */
export function DeskScreen() {
  const { open } = useStore(useConsole().work.crmPanel);
  return (
    <div className={open ? 'desk with-crm' : 'desk'}>
      <QueuePane />
      <WorkPane />
      <CrmPanel />
    </div>
  );
}
