/**
 * The preload of every console window (sandboxed, context-isolated). It hands the
 * page window.agentDesk and nothing else: ipcRenderer itself never crosses the
 * context bridge.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { exposeAgentDesk } from './bridge.ts';

exposeAgentDesk(contextBridge, ipcRenderer);
