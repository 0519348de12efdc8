import { QueuePane } from './QueuePane.tsx';
import { WorkPane } from './WorkPane.tsx';

/** The agent's main screen: the live queue on the left, the work in hand on the right. */
export function DeskScreen() {
  return (
    <div className="desk">
      <QueuePane />
      <WorkPane />
    </div>
  );
}
