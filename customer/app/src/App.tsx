import { useSyncExternalStore } from 'react';
import type { AppController } from './controller.ts';
import { BlockedBanner, Layout } from './components/Layout.tsx';
import { Screen } from './components/ui.tsx';
import { FingerprintSetup, PhotoSetup, PinSetup, Welcome } from './screens/Enrol.tsx';
import { Home } from './screens/Home.tsx';
import { Menu } from './screens/Menu.tsx';
import { StepUp } from './screens/StepUp.tsx';
import { Waiting } from './screens/Waiting.tsx';
import { Chat } from './screens/Chat.tsx';
import { CallEnded, Continuing, InCall, Incoming } from './screens/Call.tsx';
import { Account } from './screens/Account.tsx';
import { Help } from './screens/Help.tsx';
import { AddFingerprint, AddPhoto, ChangePin, RemovePhone, Settings } from './screens/Settings.tsx';
import { Conversation, Conversations, History, Receipt, Receipts } from './screens/History.tsx';
import { VerifyCall } from './screens/VerifyCall.tsx';
import { AgentCommands } from './components/AgentCommands.tsx';

export function App({ app }: { app: AppController }) {
  const state = useSyncExternalStore(app.subscribe, app.getState);
  const s = state.screen;
  let body;
  switch (s.name) {
    case 'loading':
      body = <Screen title="Checking this phone…" />;
      break;
    case 'welcome':
      body = <Welcome state={state} app={app} />;
      break;
    case 'enrol-pin':
      body = <PinSetup state={state} app={app} />;
      break;
    case 'enrol-fingerprint':
      body = <FingerprintSetup state={state} app={app} />;
      break;
    case 'enrol-photo':
      body = <PhotoSetup state={state} app={app} />;
      break;
    case 'home':
      body = <Home state={state} app={app} />;
      break;
    case 'menu':
      body = <Menu state={state} app={app} path={s.path} />;
      break;
    case 'step-up':
      body = (
        <StepUp
          key={s.option.id}
          state={state}
          app={app}
          option={s.option}
          needed={s.needed}
          verifyOnCall={s.verifyOnCall}
        />
      );
      break;
    case 'waiting':
      body = <Waiting state={state} app={app} />;
      break;
    case 'chat':
      body = <Chat state={state} app={app} />;
      break;
    case 'incoming':
      body = <Incoming state={state} app={app} call={s.call} />;
      break;
    case 'in-call':
      body = (
        <InCall
          state={state}
          app={app}
          call={s.call}
          verifiedAt={s.verifiedAt}
          since={s.since}
          micError={s.micError}
          continuedFrom={s.continuedFrom}
        />
      );
      break;
    case 'continuing':
      body = <Continuing app={app} from={s.from} toAgent={s.toAgent} />;
      break;
    case 'call-ended':
      body = <CallEnded app={app} call={s.call} seconds={s.seconds} noMediaPath={!!s.noMediaPath} />;
      break;
    case 'account':
      body = <Account state={state} app={app} />;
      break;
    case 'help':
      body = <Help app={app} />;
      break;
    case 'settings':
      body = <Settings state={state} app={app} />;
      break;
    case 'change-pin':
      body = <ChangePin state={state} app={app} />;
      break;
    case 'add-fingerprint':
      body = <AddFingerprint state={state} app={app} />;
      break;
    case 'add-photo':
      body = <AddPhoto state={state} app={app} />;
      break;
    case 'remove-phone':
      body = <RemovePhone state={state} app={app} />;
      break;
    case 'history':
      body = <History state={state} app={app} />;
      break;
    case 'conversations':
      body = <Conversations state={state} app={app} />;
      break;
    case 'conversation':
      body = <Conversation state={state} app={app} screen={s} />;
      break;
    case 'receipts':
      body = <Receipts state={state} app={app} />;
      break;
    case 'receipt':
      body = <Receipt state={state} app={app} receipt={s.receipt} />;
      break;
    case 'verify-call':
      body = <VerifyCall state={state} app={app} done={s.done} refused={s.refused ?? null} />;
      break;
    default: {
      const never: never = s;
      return never;
    }
  }
  return (
    <Layout
      company={state.company}
      customerName={state.customerName}
      dark={s.name === 'incoming' || s.name === 'in-call' || s.name === 'continuing'}
      banner={<BlockedBanner blocked={state.blockedBanner} onDismiss={() => app.dismissBlocked()} />}
      commands={<AgentCommands state={state} app={app} />}
    >
      {body}
    </Layout>
  );
}
